"""Parse a lab guide (markdown plus the lab dialect) into a :class:`~labguide.model.Guide`."""

from __future__ import annotations

import re

from markdown_it.token import Token

from labguide.dialect import PLACEHOLDER, markdown_parser, preprocess
from labguide.model import Guide, ImageRef, InjectRef, TagProblem, Task, ValidationRef

# Tolerant of the quirks real guides have: any heading level, "Task 5.1 Title" without the colon,
# "Task 2 - Title", "Task 3.", trailing closing hashes.
_TASK_HEADING = re.compile(r"^\s*Task\s+(\d+(?:\.\d+)*)\.?\s*[:.\-\u2013\u2014]?\s*(.*?)\s*$", re.IGNORECASE)


def slugify(text: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return slug or "section"


def task_anchor(number: str) -> str:
    """The stable anchor of a task heading: ``task-3-1`` for Task 3.1."""
    return "task-" + number.replace(".", "-")


def heading_anchors(tokens: list[Token]) -> dict[int, str]:
    """Anchor per heading_open token index: ``task-N-M`` for task headings, a unique slug otherwise."""
    anchors: dict[int, str] = {}
    used: set[str] = set()
    for i, tok in enumerate(tokens):
        if tok.type != "heading_open":
            continue
        text = PLACEHOLDER.sub("", tokens[i + 1].content)
        m = _TASK_HEADING.match(text)
        base = task_anchor(m.group(1)) if m else slugify(text)
        anchor, n = base, 2
        while anchor in used:
            anchor, n = f"{base}-{n}", n + 1
        used.add(anchor)
        anchors[i] = anchor
    return anchors


def _plain(inline: Token) -> str:
    """The visible text of an inline token (markup dropped, placeholders removed)."""
    parts = []
    for child in inline.children or []:
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
    return PLACEHOLDER.sub("", "".join(parts)).strip()


def parse_guide(text: str) -> Guide:
    """Parse guide source into tasks, validation steps, inject keys and images (all with 1-based lines)."""
    source, tags = preprocess(text)
    tokens = markdown_parser().parse(source)
    anchors = heading_anchors(tokens)

    title = ""
    tasks: list[Task] = []
    images: list[ImageRef] = []
    # (line, level, task-or-None) for every heading, to place tags inside tasks afterwards.
    headings: list[tuple[int, int, Task | None]] = []
    by_number: dict[str, Task] = {}

    for i, tok in enumerate(tokens):
        if tok.type == "heading_open":
            inline = tokens[i + 1]
            line = tok.map[0] + 1 if tok.map else 0
            level = int(tok.tag[1])
            text_ = _plain(inline)
            m = _TASK_HEADING.match(text_)
            if level == 1 and not title:
                title = text_
            task = None
            if m:
                number = m.group(1)
                task = Task(number, m.group(2), line, anchors[i])
                parent = by_number.get(number.rsplit(".", 1)[0]) if "." in number else None
                (parent.subtasks if parent else tasks).append(task)
                by_number.setdefault(number, task)
            headings.append((line, level, task))
        elif tok.type == "inline" and tok.children:
            line = tok.map[0] + 1 if tok.map else 0
            for child in tok.children:
                if child.type in ("softbreak", "hardbreak"):
                    line += 1
                elif child.type == "image":
                    images.append(ImageRef(str(child.attrs.get("src", "")), _alt(child), line))

    validations: list[ValidationRef] = []
    injects: list[InjectRef] = []
    problems: list[TagProblem] = []
    for tag in tags:
        if tag.kind == "inject":
            key = tag.attrs.get("key", "").strip()
            if key:
                injects.append(InjectRef(key, tag.copy, tag.line))
            else:
                problems.append(TagProblem(tag.line, f"<inject> tag without a key: {tag.text}"))
        else:
            step = tag.attrs.get("step", "").strip()
            if step:
                task = _task_at(headings, tag.line)
                ref = ValidationRef(step, tag.line, task.number if task else None)
                validations.append(ref)
                if task:
                    task.validations.append(ref)
            else:
                problems.append(TagProblem(tag.line, f"<validation> tag without a step id: {tag.text}"))

    return Guide(title, tasks, validations, injects, images, problems)


def _alt(image: Token) -> str:
    return "".join(c.content for c in image.children or [] if c.type in ("text", "code_inline"))


def _task_at(headings: list[tuple[int, int, Task | None]], line: int) -> Task | None:
    """The innermost task whose section contains ``line``.

    A non-task heading closes the open tasks at its level or deeper, so ``## Review`` ends Task 6.
    """
    stack: list[tuple[int, Task]] = []
    for h_line, level, task in headings:
        if h_line > line:
            break
        while stack and stack[-1][0] >= level:
            stack.pop()
        if task is not None:
            # A sub-task numbered N.M sits inside Task N even if both use the same heading level.
            while stack and not task.number.startswith(stack[-1][1].number + "."):
                stack.pop()
            stack.append((level, task))
    return stack[-1][1] if stack else None
