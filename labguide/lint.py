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


def declaration_problems(check_id: str) -> list[str]:
    """What is wrong in the registered check's own declaration (``Check.declaration_problems``); none for an
    id the registry lacks, or an entry that declares nothing."""
    from checks import registry

    try:
        check = registry.get(check_id)
    except KeyError:
        return []
    problems = getattr(check, "declaration_problems", None)
    return problems() if problems is not None else []


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
    declarations_seen: set[str] = set()  # each check's own declaration is reported once, at its first use

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
                at_yaml(check.line, f"check '{check.id}' (step {step.id}, Task {step.task}) is not registered; "
                                    f"`labgrader checks list` shows the checks there are")
            elif check.id not in declarations_seen:
                declarations_seen.add(check.id)
                for msg in declaration_problems(check.id):
                    at_yaml(check.line, f"{msg} (a bug in labgrader's declaration of the check, not in this pack)")
    if pack.yaml_path is not None:
        problems.extend(Problem(yaml_file, line, msg)
                        for line, msg in schema_problems(pack.yaml_path, check_exists, pack.injects))

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

# Parts of lab.yaml the pack loader checks and words itself (``LabPack.problems``): the schema describes them
# for editors, and lint leaves them to the loader so each problem is said once.
_LOADER_CHECKED = (("scoring",), ("auto_check",), ("steps", None, "weight"), ("steps", None, "note"),
                   ("steps", None, "id"), ("steps", None, "checks", None, "id"))


def _loader_checked(path: tuple) -> bool:
    return any(len(path) >= len(p) and all(x is None or x == y for x, y in zip(p, path, strict=False))
               for p in _LOADER_CHECKED)


def schema_problems(yaml_path: Path, check_exists: Callable[[str], bool] = registered_check,
                    injects: Iterable[str] | None = None) -> list[tuple[int, str]]:
    """(line, message) for every place lab.yaml disagrees with the JSON Schema (``labguide.schema``): unknown
    or missing keys, ill-typed values, and each check's ``expect`` against the keys the check declares
    (unknown keys with a close match, missing required keys, ill-typed values, values outside the allowed
    set), and ``{Key}`` templates naming no declared inject (when ``injects`` is given). The loader's own
    findings (``LabPack.problems``) are not repeated."""
    import yaml

    from checks.expect import check_expect
    from labguide.schema import line_of, validator

    text = yaml_path.read_text(encoding="utf-8")
    try:
        root, data = yaml.compose(text, Loader=yaml.SafeLoader), yaml.safe_load(text)
    except yaml.YAMLError:
        return []  # the loader refuses the file already
    out: list[tuple[int, str]] = []
    for err in validator().iter_errors(data):
        path = tuple(err.absolute_path)
        if _loader_checked(path) or (len(path) >= 5 and path[4] == "expect"):
            continue  # the loader says it, or the check's own declaration does (below)
        out.extend(_document_problem(root, path, err))
    for i, step in enumerate(data.get("steps") or [] if isinstance(data, dict) else []):
        for j, c in enumerate((step.get("checks") or []) if isinstance(step, dict) else []):
            if not isinstance(c, dict):
                continue
            if injects is not None:
                for path, key in _template_keys(c.get("expect"), ()):
                    if key not in injects:
                        out.append((line_of(root, ("steps", i, "checks", j, "expect", *path)),
                                    f"expectation uses {{{key}}}, which is not a declared inject"))
            if not isinstance(c.get("id"), str) or not check_exists(c["id"]):
                continue
            from checks import registry

            check = registry.get(c["id"])
            if getattr(check, "expects", None) is None:
                continue
            here = ("steps", i, "checks", j)
            for p in check_expect(check.id, check.expects, c.get("expect") or {}):
                line = line_of(root, (*here, "expect", *p.path), key=bool(p.path)) if p.path else line_of(root, here)
                out.append((line, f"step {step.get('id')}: {p.message}"))
    return out


def _where(path: tuple) -> str:
    text = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".")
    return text or "lab.yaml"


def _document_problem(root, path: tuple, err) -> list[tuple[int, str]]:
    import difflib

    from labguide.schema import line_of

    if err.validator == "additionalProperties":
        known = list(err.schema.get("properties", {}))
        out = []
        for extra in sorted(set(err.instance) - set(known)):
            close = difflib.get_close_matches(str(extra), known, n=1, cutoff=0.6)
            hint = f"did you mean {close[0]}?" if close else f"the keys here are {', '.join(known)}"
            out.append((line_of(root, (*path, extra), key=True),
                        f"{_where(path)}: unknown key '{extra}'; {hint}"))
        return out
    if err.validator == "required":
        missing = [n for n in err.validator_value if n not in err.instance]
        return [(line_of(root, path), f"{_where(path)} needs '{n}'") for n in missing]
    if err.validator == "enum":
        close = difflib.get_close_matches(str(err.instance), [str(v) for v in err.validator_value], n=1, cutoff=0.6)
        hint = f"; did you mean {close[0]}?" if close else ""
        return [(line_of(root, path), f"{_where(path)}: {err.instance!r} is not allowed{hint}")]
    if err.validator == "type":
        wanted = err.validator_value if isinstance(err.validator_value, list) else [err.validator_value]
        words = {"object": "a mapping", "array": "a list", "string": "text", "integer": "a whole number",
                 "number": "a number", "boolean": "true or false", "null": "empty"}
        return [(line_of(root, path), f"{_where(path)}: must be {' or '.join(words.get(w, w) for w in wanted)}, "
                                      f"not {err.instance!r}")]
    return [(line_of(root, path), f"{_where(path)}: {err.message}")]


def _template_keys(value: object, path: tuple) -> Iterable[tuple[tuple, str]]:
    """(path, key) of every ``{Key}`` template in an ``expect`` value."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _template_keys(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _template_keys(v, (*path, i))
    elif isinstance(value, str):
        for key in _TEMPLATE_KEY.findall(value):
            yield path, key


def _rel(path: Path | None, root: Path) -> str:
    if path is None:
        return "guide.md"
    try:
        return str(path.relative_to(root))
    except ValueError:
        return str(path)
