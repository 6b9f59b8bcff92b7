"""``guide lint``: the rules that keep a guide and its lab.yaml in step with each other and with the checks."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from labguide.packs import LabPack
from labguide.resolve import image_name, is_remote


@dataclass(frozen=True, order=True)
class Problem:
    """One lint finding; ``str()`` gives the one line ``guide lint`` prints."""

    path: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.message}" if self.line else f"{self.path}: {self.message}"


def registered_check(check_id: str) -> bool:
    """Whether the check registry holds ``check_id`` (the registry raises ``KeyError`` for unknown ids)."""
    from checks import registry

    try:
        registry.get(check_id)
    except KeyError:
        return False
    return True


def lint_pack(pack: LabPack, *, check_exists: Callable[[str], bool] = registered_check) -> list[Problem]:
    """Every problem in ``pack``, sorted by file and line; an empty list means the pack is clean."""
    guide_file = _rel(pack.guide_path, pack.root)
    yaml_file = _rel(pack.yaml_path, pack.root) if pack.yaml_path else "lab.yaml"
    problems: list[Problem] = []

    def at_guide(line: int, msg: str) -> None:
        problems.append(Problem(guide_file, line, msg))

    def at_yaml(line: int, msg: str) -> None:
        problems.append(Problem(yaml_file, line, msg))

    if pack.guide_path is None or not pack.guide_path.is_file():
        at_guide(0, "guide not found")
        return sorted(problems)
    if pack.yaml_path is None:
        at_guide(0, "no lab.yaml beside the guide, so its steps, injects and checks cannot be checked")
    for line, msg in pack.problems:
        at_yaml(line, msg)

    guide = pack.guide
    for p in guide.problems:
        at_guide(p.line, p.message)
    if not guide.tasks:
        at_guide(0, "no task headings found (expected headings like '### Task 1: title')")

    # Validation steps: each once in the guide, each defined in lab.yaml, in the task lab.yaml says.
    steps = {s.id: s for s in pack.steps}
    seen: dict[str, int] = {}
    for ref in guide.validations:
        if ref.step in seen:
            at_guide(ref.line, f"validation step {ref.step} appears again (first at line {seen[ref.step]})")
            continue
        seen[ref.step] = ref.line
        step = steps.get(ref.step)
        if pack.yaml_path is None:
            continue
        if step is None:
            at_guide(ref.line, f"validation step {ref.step} is not defined in {yaml_file}")
        elif ref.task is None:
            at_guide(ref.line, f"validation step {ref.step} is outside any task (lab.yaml says Task {step.task})")
        elif step.task and ref.task != step.task:
            at_guide(ref.line, f"validation step {ref.step} sits under Task {ref.task}, "
                               f"but {yaml_file} says Task {step.task}")

    # lab.yaml steps: unique, placed in the guide, prerequisites and checks that exist.
    first_line: dict[str, int] = {}
    for step in pack.steps:
        if step.id in first_line:
            at_yaml(step.line, f"step id {step.id} is used again (first at line {first_line[step.id]})")
            continue
        first_line[step.id] = step.line
        if step.id not in seen:
            at_yaml(step.line, f"step {step.id} ({step.label}) has no <validation step=\"{step.id}\"/> in {guide_file}")
        for req in step.requires:
            if req not in steps:
                at_yaml(step.line, f"step {step.id} requires {req}, which is not a step in {yaml_file}")
        if step.declared_title and step.title != step.declared_title:
            at_yaml(step.line, f"step {step.id} has the title '{step.declared_title}', but {guide_file} calls "
                               f"Task {step.task} '{step.title}': students read the heading, so labgrader names "
                               "the task by it everywhere; use the same words or drop the title here")
        if step.note and _TEMPLATE_KEY.search(step.note):
            at_yaml(step.line, f"the note of step {step.id} uses a {{Key}} template, but notes are shown as "
                               "written: name no attendee value there")
        if not step.checks:
            at_yaml(step.line, f"step {step.id} ({step.label}) has no checks")
        for check in step.checks:
            if not check.id:
                at_yaml(check.line, f"a check of step {step.id} has no id")
            elif not check_exists(check.id):
                at_yaml(check.line, f"check '{check.id}' (step {step.id}, Task {step.task}) is not registered")
            problems.extend(_unknown_template_keys(check.expect, pack, yaml_file, check.line))

    # Injects: every key the guide uses is declared.
    if pack.yaml_path is not None:
        for ref in guide.injects:
            if ref.key not in pack.injects:
                at_guide(ref.line, f"inject key '{ref.key}' is not declared under injects in {yaml_file}")

    # Images: every local image exists in the pack's images/ folder.
    for img in guide.images:
        if is_remote(img.src):
            continue
        name = image_name(img.src)
        if name is None:
            at_guide(img.line, f"image '{img.src}' is not a file in images/ or an https:// URL")
        elif not (pack.images_dir / name).is_file():
            at_guide(img.line, f"image '{img.src}' not found: expected {_rel(pack.images_dir / name, pack.root)}")

    return sorted(problems)


_TEMPLATE_KEY = re.compile(r"\{([A-Za-z_]\w*)\}")


def _unknown_template_keys(expect: object, pack: LabPack, yaml_file: str, line: int) -> Iterable[Problem]:
    """``{Key}`` templates in ``expect`` must name a declared inject, or the check compares against junk."""
    if isinstance(expect, dict):
        for v in expect.values():
            yield from _unknown_template_keys(v, pack, yaml_file, line)
    elif isinstance(expect, list):
        for v in expect:
            yield from _unknown_template_keys(v, pack, yaml_file, line)
    elif isinstance(expect, str):
        for key in _TEMPLATE_KEY.findall(expect):
            if key not in pack.injects:
                yield Problem(yaml_file, line, f"expectation uses {{{key}}}, which is not a declared inject")


def _rel(path: Path | None, root: Path) -> str:
    if path is None:
        return "guide.md"
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)
