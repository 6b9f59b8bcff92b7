"""The lab dialect's tags (``<inject>``, ``<validation>``) and the markdown parser both parse and render use.

Tags are swapped for opaque placeholders *before* markdown runs, so markdown never sees (or escapes, or
passes through) them, and the renderer swaps trusted widgets back in *after* sanitising the author's HTML.
Tags inside fenced code blocks are left alone: that is how a guide shows the dialect itself.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from markdown_it import MarkdownIt

# Private-use code points: they pass through markdown-it and nh3 untouched, and a guide has no business
# containing them (``preprocess`` strips any it finds so a guide cannot forge a placeholder).
OPEN, CLOSE, FILL = "\ue000", "\ue001", "\ue002"
# A tag written over several lines keeps its line breaks inside its placeholder, each followed by FILL
# (so no line is blank and the paragraph holds together): later lines keep their numbers.
PLACEHOLDER = re.compile(f"{OPEN}([A-Z])(\\d+)(?:\n{FILL})*{CLOSE}")

_TAG = re.compile(
    r"<(?P<name>inject|validation)\b(?P<attrs>[^<>]*?)/?>(?:[ \t]*</(?P=name)\s*>)?",
    re.IGNORECASE,
)
_ATTR = re.compile(r"""([A-Za-z_][\w-]*)\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>/]+))""")
_FENCE = re.compile(r"^[ \t>]*(`{3,}|~{3,})")


@dataclass(frozen=True)
class Tag:
    """One dialect tag found in the source: its kind, attributes (lower-cased names) and 1-based line."""

    kind: str  # "inject" | "validation"
    attrs: dict[str, str]
    line: int
    text: str

    @property
    def copy(self) -> bool:
        return self.attrs.get("enablecopy", "true").strip().lower() != "false"


def markdown_parser() -> MarkdownIt:
    """CommonMark with tables and strikethrough, raw HTML allowed (it is sanitised later).

    Indented code blocks are switched off: real guides indent steps, images and notes inconsistently, and a
    stray four-space indent must not turn a step into a code block. Guides show code with fences.
    """
    md = MarkdownIt("commonmark", {"html": True}).enable(["table", "strikethrough"])
    md.disable("code")
    return md


def _fenced_lines(lines: list[str]) -> set[int]:
    """0-based indexes of lines inside (or delimiting) fenced code blocks."""
    inside: set[int] = set()
    fence: str | None = None
    for i, line in enumerate(lines):
        m = _FENCE.match(line)
        if fence is None:
            if m:
                fence = m.group(1)
                inside.add(i)
        else:
            inside.add(i)
            if m and m.group(1)[0] == fence[0] and len(m.group(1)) >= len(fence) and not line[m.end() :].strip():
                fence = None
    return inside


def preprocess(text: str) -> tuple[str, list[Tag]]:
    """Replace each dialect tag outside fenced code with a placeholder; return the text and the tags.

    The n-th tag becomes ``OPEN + "I"|"V" + str(n) + CLOSE``, with a ``"\\n" + FILL`` before CLOSE for each
    line break inside the tag, so the text keeps its line count. Line numbers are 1-based in ``text``.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = text.replace(OPEN, "").replace(CLOSE, "").replace(FILL, "")
    text = text.expandtabs(4)
    lines = text.split("\n")
    fenced = _fenced_lines(lines)
    line_starts = [0]
    for line in lines:
        line_starts.append(line_starts[-1] + len(line) + 1)

    tags: list[Tag] = []
    out: list[str] = []
    pos = 0
    for m in _TAG.finditer(text):
        line_no = text.count("\n", 0, m.start())
        if line_no in fenced:
            continue
        attrs = {}
        for a in _ATTR.finditer(m.group("attrs")):
            attrs[a.group(1).lower()] = next(v for v in a.groups()[1:] if v is not None)
        kind = m.group("name").lower()
        out.append(text[pos : m.start()])
        pad = ("\n" + FILL) * m.group(0).count("\n")
        out.append(f"{OPEN}{kind[0].upper()}{len(tags)}{pad}{CLOSE}")
        tags.append(Tag(kind, attrs, line_no + 1, m.group(0)))
        pos = m.end()
    out.append(text[pos:])
    return "".join(out), tags
