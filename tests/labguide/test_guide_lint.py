"""Lint: the built-in pack is clean, and each rule reports a broken pack at the right line."""

from __future__ import annotations

from pathlib import Path

import pytest

from checks import registry
from labguide.lint import lint_pack
from labguide.packs import load_pack

TASK1 = "d59e98f0-5614-4e26-b82c-18374ffffb6c"
TASK2 = "0b268237-4be0-4453-a6ac-5603f697a1a9"
# The check ids the built-in pack names: tests of the other rules treat exactly these as registered.
KNOWN = frozenset(c.id for step in load_pack("spot-the-flaw").steps for c in step.checks)


def _line_of(path: Path, needle: str, nth: int = 1) -> int:
    hits = [i + 1 for i, line in enumerate(path.read_text().splitlines()) if needle in line]
    return hits[nth - 1]


def _edit(path: Path, old: str, new: str, count: int = 1) -> None:
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, count))


def _lint(root: Path) -> list[str]:
    """Lint with the pack's own check ids as the known ones, so these tests judge the other rules."""
    return [str(p) for p in lint_pack(load_pack(root), check_exists=KNOWN.__contains__)]


def test_builtin_pack_is_clean():
    assert _lint(load_pack("spot-the-flaw").root) == []


def test_builtin_pack_checks_are_registered():
    """Against the real registry: every check the pack names exists (once the check modules are in)."""
    if not registry.all_ids():
        pytest.skip("the check registry is empty: no check module has landed yet")
    unregistered = [str(p) for p in lint_pack(load_pack("spot-the-flaw")) if "is not registered" in p.message]
    assert unregistered == []


def test_unregistered_check_points_at_its_lab_yaml_line(pack_copy):
    lab = pack_copy / "lab.yaml"
    _edit(lab, "- id: iteration_exportable", "- id: iteration_exportible")
    assert _lint(pack_copy) == [
        f"lab.yaml:{_line_of(lab, 'iteration_exportible')}: check 'iteration_exportible' "
        "(step 9f2b0c4d-ae5a-4b1c-d9f3-5a7e9b1c3d66, Task 6) is not registered; `labgrader checks list` shows "
        "the checks there are"
    ]


def test_lint_asks_the_real_registry(pack_copy, monkeypatch):
    class Probe:
        id = "probe_only_for_lint_test"

    def probe_problems() -> list[str]:
        return [str(p) for p in lint_pack(load_pack(pack_copy)) if Probe.id in p.message]

    _edit(pack_copy / "lab.yaml", "- id: iteration_exportable", f"- id: {Probe.id}")
    registry.all_ids()  # load the built-in checks first, as lint would
    assert len(probe_problems()) == 1
    monkeypatch.setitem(registry._REGISTRY, Probe.id, Probe())
    assert probe_problems() == []


def test_guide_step_missing_from_lab_yaml(pack_copy):
    guide = pack_copy / "guide.md"
    _edit(guide, '<validation step="9f2b0c4d', '<validation step="00000000')
    line = _line_of(guide, "00000000")
    assert _lint(pack_copy) == [
        f"guide.md:{line}: validation step 00000000-ae5a-4b1c-d9f3-5a7e9b1c3d66 is not defined in lab.yaml",
        f"lab.yaml:{_line_of(pack_copy / 'lab.yaml', '9f2b0c4d')}: step 9f2b0c4d-ae5a-4b1c-d9f3-5a7e9b1c3d66 "
        "(Task 6: Look at the export options) has no <validation step=\"9f2b0c4d-ae5a-4b1c-d9f3-5a7e9b1c3d66\"/> "
        "in guide.md",
    ]


def test_duplicate_step_in_guide(pack_copy):
    guide = pack_copy / "guide.md"
    _edit(guide, "## Summary", f'<validation step="{TASK2}" />\n\n## Summary')
    first, again = _line_of(guide, TASK2), _line_of(guide, TASK2, 2)
    assert _lint(pack_copy) == [f"guide.md:{again}: validation step {TASK2} appears again (first at line {first})"]


def test_duplicate_step_in_lab_yaml(pack_copy):
    lab = pack_copy / "lab.yaml"
    _edit(lab, "- id: 9f2b0c4d-ae5a-4b1c-d9f3-5a7e9b1c3d66", f"- id: {TASK1}")
    problems = _lint(pack_copy)
    dup = _line_of(lab, f"- id: {TASK1}", 2)
    assert f"lab.yaml:{dup}: step id {TASK1} is used again (first at line {_line_of(lab, TASK1)})" in problems
    assert any(p.startswith(f"guide.md:{_line_of(pack_copy / 'guide.md', '9f2b0c4d')}:") for p in problems)


def test_step_in_the_wrong_task(pack_copy):
    guide = pack_copy / "guide.md"
    text = guide.read_text()
    tag = f'<validation step="{TASK1}" />'
    # Move the Task 1 tag under Task 6.
    guide.write_text(text.replace(tag, "").replace(
        '<validation step="9f2b0c4d', f'{tag}\n\n<validation step="9f2b0c4d'))
    assert _lint(pack_copy) == [
        f"guide.md:{_line_of(guide, TASK1)}: validation step {TASK1} sits under Task 6, but lab.yaml says Task 1"
    ]


def test_undeclared_inject_key(pack_copy):
    guide = pack_copy / "guide.md"
    _edit(guide, "- **Username:** <inject key=\"AzureAdUserEmail\">", "- **Username:** <inject key=\"UserEmail\">")
    assert _lint(pack_copy) == [
        f"guide.md:{_line_of(guide, 'UserEmail')}: inject key 'UserEmail' is not declared under injects in lab.yaml"
    ]


def test_missing_image(pack_copy):
    (pack_copy / "images" / "dataset.svg").unlink()
    guide = pack_copy / "guide.md"
    assert _lint(pack_copy) == [
        f"guide.md:{_line_of(guide, 'images/dataset.svg')}: image 'images/dataset.svg' not found: "
        "expected images/dataset.svg"
    ]


def test_requires_and_template_keys(pack_copy):
    lab = pack_copy / "lab.yaml"
    _edit(lab, "requires: [d59e98f0-5614-4e26-b82c-18374ffffb6c]", "requires: [no-such-step]")
    _edit(lab, 'resource_group: "{ResourceGroup}"', 'resource_group: "{ResourceGroupName}"')
    assert _lint(pack_copy) == [
        f"lab.yaml:{_line_of(lab, '{ResourceGroupName}')}: expectation uses {{ResourceGroupName}}, "
        "which is not a declared inject",
        f"lab.yaml:{_line_of(lab, 'id: ' + TASK2)}: step {TASK2} requires no-such-step, "
        "which is not a step in lab.yaml",
    ]


def test_lone_guide_without_lab_yaml(tmp_path):
    guide = tmp_path / "guide.md"
    guide.write_text("### Task 1: Only\n\n<validation step=\"a\"/>\n\n<validation step=\"a\"/>\n")
    assert [str(p) for p in lint_pack(load_pack(guide))] == [
        "guide.md: no lab.yaml beside the guide, so its steps, injects and checks cannot be checked",
        "guide.md:5: validation step a appears again (first at line 3)",
    ]
