"""The parsed lab guide: tasks, validation steps, inject keys and images, each with its source line."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class InjectRef:
    """One ``<inject key=.../>`` tag: a per-attendee value shown in the guide."""

    key: str
    copy: bool
    line: int


@dataclass(frozen=True)
class ValidationRef:
    """One ``<validation step=.../>`` tag; ``task`` is the number of the (sub-)task it sits in, or ``None``."""

    step: str
    line: int
    task: str | None


@dataclass(frozen=True)
class ImageRef:
    """One markdown image ``![alt](src)``."""

    src: str
    alt: str
    line: int


@dataclass(frozen=True)
class TagProblem:
    """A dialect tag the parser could not use (e.g. ``<inject>`` without a key)."""

    line: int
    message: str


@dataclass
class Task:
    """A ``### Task N: title`` section; sub-tasks (``#### Task N.M``) hang off their parent."""

    number: str
    title: str
    line: int
    anchor: str
    subtasks: list[Task] = field(default_factory=list)
    validations: list[ValidationRef] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"Task {self.number}"

    def all_validations(self) -> list[ValidationRef]:
        """This task's validation steps followed by its sub-tasks', in guide order."""
        found = list(self.validations)
        for sub in self.subtasks:
            found.extend(sub.all_validations())
        return sorted(found, key=lambda v: v.line)


@dataclass
class Guide:
    """A whole guide: its title and tasks, plus every tag and image in document order."""

    title: str
    tasks: list[Task]
    validations: list[ValidationRef]
    injects: list[InjectRef]
    images: list[ImageRef]
    problems: list[TagProblem] = field(default_factory=list)

    @property
    def inject_keys(self) -> list[str]:
        """Inject keys used, each once, in order of first use."""
        return list(dict.fromkeys(i.key for i in self.injects))

    @property
    def step_ids(self) -> list[str]:
        return [v.step for v in self.validations]

    def task(self, number: str) -> Task:
        """The task or sub-task numbered ``number``; raises ``KeyError`` if the guide has none."""
        for top in self.tasks:
            for candidate in (top, *top.subtasks):
                if candidate.number == number:
                    return candidate
        raise KeyError(f"no Task {number} in the guide")
