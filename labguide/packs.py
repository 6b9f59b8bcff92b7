"""Lab packs: a folder with ``guide.md``, ``lab.yaml`` and ``images/``, loaded into a :class:`LabPack`.

Packs are found in the built-in ``labguide/packs/`` folder, in the folders listed in the
``LABGRADER_PACK_DIRS`` environment variable (``os.pathsep``-separated; the command line reads it here),
and in ``extra_dirs``. The web app passes its configured folders with ``include_env=False``: its
configuration is its one source, and it never calls :func:`load_pack` on request input (a name there may
be any file path).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

from labguide.model import Guide
from labguide.parse import parse_guide

BUILTIN_DIR = Path(__file__).resolve().parent / "packs"
PACK_DIRS_ENV = "LABGRADER_PACK_DIRS"
GUIDE_NAMES = ("guide.md",)

# Inject keys every lab platform fills from the attendee's Azure credentials, by credential field.
CREDENTIAL_INJECTS = {"region": "Region", "resource_group": "ResourceGroup"}


def credential_injects(credentials: dict[str, Any]) -> dict[str, str]:
    """The inject values a credentials JSON implies (Region, ResourceGroup); explicit injects override them."""
    return {key: str(credentials[field]) for field, key in CREDENTIAL_INJECTS.items() if credentials.get(field)}


class PackError(Exception):
    """A pack that cannot be loaded at all (missing folder, unreadable or malformed lab.yaml)."""


@dataclass(frozen=True)
class InjectSpec:
    """A per-attendee value the guide may show; ``secret`` ones are masked and never shared."""

    key: str
    description: str = ""
    secret: bool = False
    default: str | None = None
    line: int = 0


@dataclass(frozen=True)
class CheckSpec:
    id: str
    expect: dict[str, Any] = field(default_factory=dict)
    line: int = 0


@dataclass(frozen=True)
class StepSpec:
    """One validation step from lab.yaml: the task it belongs to and the checks it runs.

    ``title`` is the guide's heading of the step's task ("### Task 4: <title>"), so the badge, the proctor
    grid and the API name a task in the words the student reads; lab.yaml's ``title`` serves only when
    the guide has no heading for that task (``declared_title`` keeps it, for lint).
    """

    id: str
    task: str
    title: str
    requires: tuple[str, ...] = ()
    checks: tuple[CheckSpec, ...] = ()
    line: int = 0
    declared_title: str = ""
    weight: float = 1.0
    """The step's share of the lab's score (lab.yaml ``weight``, a positive number; default 1)."""
    note: str = ""
    """Shown with the step's Validate button, as written: what labgrader checks, where the task leaves
    nothing to validate by itself ("there is nothing to create here")."""

    @property
    def label(self) -> str:
        return f"Task {self.task}: {self.title}" if self.title else f"Task {self.task}"


@dataclass(frozen=True)
class AutoCheckSettings:
    """lab.yaml ``auto_check``: validate an active attendee's unfinished steps in the background.

    ``every``: seconds between two checks; ``after_pending``: seconds to the next check after a PENDING
    (training running); ``idle_after``: seconds after the attendee last opened the guide or was validated
    when the checks stop. (A class setting may override any of them, or turn the checks on or off.)
    """

    every: float = 300.0
    after_pending: float = 60.0
    idle_after: float = 1800.0

    FIELDS = ("every", "after_pending", "idle_after")


def auto_check_settings(value: Any, problems: list[tuple[int, str]], line: int = 0,
                        base: AutoCheckSettings | None = None) -> AutoCheckSettings | None:
    """lab.yaml ``auto_check``: ``true`` (the defaults), ``false`` or absent (off), or a mapping of
    :class:`AutoCheckSettings` fields, each a positive number of seconds; missing fields come from ``base``
    (default: the defaults). Problems are appended to ``problems`` (lint reports them) and ignored."""
    base = base or AutoCheckSettings()
    if value is None or value is False:
        return None
    if value is True:
        return base
    if not isinstance(value, dict):
        problems.append((line, "auto_check must be true, false or a mapping (every, after_pending, idle_after)"))
        return None
    chosen = {}
    for key, number in value.items():
        if key not in AutoCheckSettings.FIELDS:
            problems.append((line, f"auto_check has no setting {key!r} (every, after_pending, idle_after)"))
        elif isinstance(number, bool) or not isinstance(number, int | float) or not number > 0:
            problems.append((line, f"auto_check.{key} must be a positive number of seconds, not {number!r}"))
        else:
            chosen[key] = float(number)
    return replace(base, **chosen)


@dataclass
class LabPack:
    """A loaded lab pack. ``guide`` is parsed lazily from ``guide_text``."""

    id: str
    title: str
    version: int | str
    root: Path
    guide_path: Path | None
    guide_text: str
    injects: dict[str, InjectSpec]
    steps: list[StepSpec]
    yaml_path: Path | None = None
    problems: list[tuple[int, str]] = field(default_factory=list)  # lab.yaml shape problems for lint
    # lab.yaml ``scoring``: the score (0-100) that passes the lab, if any, and whether a step that passed and
    # later fails (the student deleted the resource) keeps its credit, like a checkpoint.
    pass_mark: float | None = None
    keep_credit: bool = True
    auto_check: AutoCheckSettings | None = None  # lab.yaml ``auto_check``; None: no automatic checks

    @cached_property
    def guide(self) -> Guide:
        return parse_guide(self.guide_text)

    @property
    def images_dir(self) -> Path:
        return self.root / "images"

    @property
    def secret_keys(self) -> frozenset[str]:
        return frozenset(k for k, spec in self.injects.items() if spec.secret)

    def step(self, step_id: str) -> StepSpec:
        """The step with id ``step_id``; raises ``KeyError`` if lab.yaml has none."""
        for step in self.steps:
            if step.id == step_id:
                return step
        raise KeyError(f"no step {step_id!r} in pack {self.id!r}")

    def check_expectations(self) -> dict[str, dict[str, Any]]:
        """check id -> the ``expect`` of the first step that runs it (``checks.Context.lab``)."""
        out: dict[str, dict[str, Any]] = {}
        for step in self.steps:
            for c in step.checks:
                out.setdefault(c.id, c.expect)
        return out

    def demo_injects(self) -> dict[str, str]:
        """The declared defaults, for demos and dry runs (never a real attendee's values)."""
        return {k: str(s.default) for k, s in self.injects.items() if s.default is not None}


def pack_dirs(extra_dirs: Iterable[str | os.PathLike] = (), *, include_env: bool = True) -> list[Path]:
    """Folders searched for packs, in order: built-in, ``LABGRADER_PACK_DIRS`` (unless not
    ``include_env``), then ``extra_dirs``."""
    dirs = [BUILTIN_DIR]
    if include_env:
        env = os.environ.get(PACK_DIRS_ENV, "")
        dirs += [Path(p) for p in env.split(os.pathsep) if p.strip()]
    dirs += [Path(p) for p in extra_dirs]
    return dirs


def available_packs(extra_dirs: Iterable[str | os.PathLike] = (), *, include_env: bool = True,
                    errors: list[PackError] | None = None) -> list[LabPack]:
    """Every pack (a sub-folder with a lab.yaml) in the pack folders, sorted by id; later folders win.

    A pack that cannot be loaded raises :class:`PackError`, unless ``errors`` is given: then it is
    appended there and skipped, so one broken pack does not hide the others.
    """
    found: dict[str, LabPack] = {}
    for folder in pack_dirs(extra_dirs, include_env=include_env):
        if not folder.is_dir():
            continue
        for child in sorted(folder.iterdir()):
            if (child / "lab.yaml").is_file():
                try:
                    pack = load_pack(child)
                except PackError as exc:
                    if errors is None:
                        raise
                    errors.append(exc)
                    continue
                found[pack.id] = pack
    return [found[k] for k in sorted(found)]


def find_pack(name: str, extra_dirs: Iterable[str | os.PathLike] = ()) -> Path:
    """The folder of the pack called ``name`` (folder name or lab.yaml id); raises ``PackError``."""
    hits: list[Path] = []
    for folder in pack_dirs(extra_dirs):
        if (folder / name / "lab.yaml").is_file():
            hits.append(folder / name)
    if hits:
        return hits[-1]
    for pack in available_packs(extra_dirs):
        if pack.id == name:
            return pack.root
    known = [p.id for p in available_packs(extra_dirs, errors=[])]
    raise PackError(
        f"no lab pack named {name!r}: looked in {', '.join(str(d) for d in pack_dirs(extra_dirs))} (the built-in "
        f"packs, then the folders in {PACK_DIRS_ENV}, separated by '{os.pathsep}'). Known packs: "
        f"{', '.join(known) or 'none'}. Give a pack's folder, or add its parent folder to {PACK_DIRS_ENV}.")


def load_pack(name_or_path: str | os.PathLike, extra_dirs: Iterable[str | os.PathLike] = ()) -> LabPack:
    """Load a pack by name, by folder, or from a guide file (its folder's lab.yaml is used if present).

    Raises ``PackError`` when there is nothing to load or lab.yaml is not valid YAML.
    """
    path = Path(name_or_path)
    if path.is_file():
        guide_path = path
        root = path.parent
        yaml_path = next((p for p in (root / "lab.yaml", root.parent / "lab.yaml") if p.is_file()), None)
    else:
        root = path if (path / "lab.yaml").is_file() else find_pack(str(name_or_path), extra_dirs)
        yaml_path = root / "lab.yaml"
        guide_path = None

    data: dict[str, Any] = {}
    lines: dict[str, Any] = {}
    if yaml_path is not None:
        text = yaml_path.read_text(encoding="utf-8")
        try:
            node = yaml.compose(text, Loader=_LOADER)
            data = yaml.load(text, Loader=_LOADER) or {}
        except yaml.YAMLError as exc:
            raise PackError(f"{yaml_path}: not valid YAML: {exc}") from exc
        if not isinstance(data, dict):
            raise PackError(f"{yaml_path}: expected a mapping at the top level")
        lines = _line_index(node)

    if guide_path is None:
        guide_path = root / str(data.get("guide", "guide.md"))
    guide_text = guide_path.read_text(encoding="utf-8") if guide_path.is_file() else ""
    guide = parse_guide(guide_text)
    headings = _task_titles(guide)

    problems: list[tuple[int, str]] = []
    injects = {}
    for key, spec in (data.get("injects") or {}).items():
        spec = spec if isinstance(spec, dict) else {}
        default = spec.get("default")
        injects[str(key)] = InjectSpec(
            str(key),
            str(spec.get("description", "")),
            bool(spec.get("secret", False)),
            None if default is None else str(default),
            lines.get(("inject", str(key)), 0),
        )

    steps = []
    for i, raw in enumerate(data.get("steps") or []):
        step_line = lines.get(("step", i), 0)
        if not isinstance(raw, dict) or not raw.get("id"):
            problems.append((step_line, f"step #{i + 1} has no id"))
            continue
        checks = []
        for j, c in enumerate(raw.get("checks") or []):
            c = c if isinstance(c, dict) else {"id": c}
            checks.append(CheckSpec(str(c.get("id", "")), dict(c.get("expect") or {}), lines.get(("check", i, j), 0)))
        task, declared = str(raw.get("task", "")), str(raw.get("title") or "")
        steps.append(
            StepSpec(
                str(raw["id"]),
                task,
                headings.get(task) or declared,
                tuple(str(r) for r in raw.get("requires") or ()),
                tuple(checks),
                step_line,
                declared,
                weight=_weight(raw.get("weight"), step_line, problems),
                note=_note(raw.get("note"), step_line, problems),
            )
        )
    pass_mark, keep_credit = _scoring(data.get("scoring"), problems)
    auto_check = auto_check_settings(data.get("auto_check"), problems, lines.get(("auto_check",), 0))

    pack = LabPack(
        id=str(data.get("id") or (guide_path.stem if yaml_path is None else root.name)),
        title=str(data.get("title") or ""),
        version=data.get("version", 0),
        root=root,
        guide_path=guide_path,
        guide_text=guide_text,
        injects=injects,
        steps=steps,
        yaml_path=yaml_path,
        problems=problems,
        pass_mark=pass_mark,
        keep_credit=keep_credit,
        auto_check=auto_check,
    )
    pack.__dict__["guide"] = guide  # parsed once here for the titles: the cached property's value
    return pack


def _weight(value: Any, line: int, problems: list[tuple[int, str]]) -> float:
    """A step's ``weight``: a positive number, 1 when absent (a problem for lint when it is something else)."""
    if value is None:
        return 1.0
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        problems.append((line, f"a step's weight must be a positive number, not {value!r}"))
        return 1.0
    return float(value)


def _scoring(value: Any, problems: list[tuple[int, str]]) -> tuple[float | None, bool]:
    """lab.yaml ``scoring: {pass_mark: 0-100, keep_credit: true|false}`` (both optional)."""
    if value is None:
        return None, True
    if not isinstance(value, dict):
        problems.append((0, "scoring must be a mapping (pass_mark, keep_credit)"))
        return None, True
    for key in value:
        if key not in ("pass_mark", "keep_credit"):
            problems.append((0, f"scoring has no setting {key!r} (pass_mark, keep_credit)"))
    mark = value.get("pass_mark")
    if mark is not None and (isinstance(mark, bool) or not isinstance(mark, int | float) or not 0 <= mark <= 100):
        problems.append((0, f"scoring.pass_mark must be a number from 0 to 100, not {mark!r}"))
        mark = None
    keep = value.get("keep_credit", True)
    if not isinstance(keep, bool):
        problems.append((0, f"scoring.keep_credit must be true or false, not {keep!r}"))
        keep = True
    return (None if mark is None else float(mark)), keep


def _note(value: Any, line: int, problems: list[tuple[int, str]]) -> str:
    """A step's ``note``: text, or "" (a problem for lint when it is something else)."""
    if value is None:
        return ""
    if not isinstance(value, str):
        problems.append((line, f"a step's note must be text, not {type(value).__name__}"))
        return ""
    return " ".join(value.split())


def _task_titles(guide: Guide) -> dict[str, str]:
    """Task number -> the title in its guide heading, for every task and sub-task with one."""
    return {t.number: t.title for top in guide.tasks for t in (top, *top.subtasks) if t.title}


# libyaml's safe loader (the same documents and line numbers) when PyYAML has it: ten times faster than PyYAML's
# own, and every `labgrader validate` loads a pack before its first Azure call.
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _line_index(root: yaml.Node | None) -> dict[tuple, int]:
    """1-based lines of lab.yaml's injects, steps and checks, so lint can point at them."""
    index: dict[tuple, int] = {}
    if not isinstance(root, yaml.MappingNode):
        return index
    for key_node, value in root.value:
        if key_node.value == "auto_check":
            index[("auto_check",)] = key_node.start_mark.line + 1
        if key_node.value == "injects" and isinstance(value, yaml.MappingNode):
            for k, _ in value.value:
                index[("inject", k.value)] = k.start_mark.line + 1
        elif key_node.value == "steps" and isinstance(value, yaml.SequenceNode):
            for i, step in enumerate(value.value):
                index[("step", i)] = step.start_mark.line + 1
                if not isinstance(step, yaml.MappingNode):
                    continue
                for sk, sv in step.value:
                    if sk.value == "checks" and isinstance(sv, yaml.SequenceNode):
                        for j, check in enumerate(sv.value):
                            index[("check", i, j)] = check.start_mark.line + 1
    return index
