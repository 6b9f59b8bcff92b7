"""Expectations: templating with inject values, resource-name rules, tolerant name matching."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

_PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


class ExpectationError(ValueError):
    """A lab expectation that cannot be used: a missing inject value or a malformed rule."""


def render(value: Any, inject: Mapping[str, Any]) -> Any:
    """``value`` with every ``{Key}`` in its strings replaced by ``inject[Key]`` (recursively).

    Inside a ``{"pattern": ...}`` rule, inject values are regex-escaped, so a value with a dot cannot
    widen the pattern. Regex quantifiers such as ``{2,3}`` are not placeholders and are left alone.
    Raises :class:`ExpectationError` naming the key when an inject value is missing.
    """
    if isinstance(value, str):
        return _render_str(value, inject, escape=False)
    if isinstance(value, Mapping):
        out = {}
        for k, v in value.items():
            if k == "pattern" and isinstance(v, str):
                out[k] = _render_str(v, inject, escape=True)
            else:
                out[k] = render(v, inject)
        return out
    if isinstance(value, list | tuple):
        return [render(v, inject) for v in value]
    return value


def _render_str(text: str, inject: Mapping[str, Any], *, escape: bool) -> str:
    def sub(m: re.Match) -> str:
        key = m.group(1)
        if key not in inject or inject[key] is None:
            raise ExpectationError(
                f"the lab expectation {text!r} uses {{{key}}}, but no inject value {key!r} was given"
            )
        val = str(inject[key])
        return re.escape(val) if escape else val

    return _PLACEHOLDER.sub(sub, text)


def loose(text: str | None) -> str:
    """Case- and space-tolerant form: casefolded, outer spaces stripped, inner runs collapsed."""
    return " ".join((text or "").split()).casefold()


_QUOTES = "\"'`\u2018\u2019\u201a\u201b\u201c\u201d\u201e\u201f\u00ab\u00bb\u2032\u2033"
_TAG_NOISE = re.compile(f"[\\s\\-_\u2010\u2011\u2012\u2013\u2014{re.escape(_QUOTES)}]+")


def tag_key(name: str | None) -> str:
    """A tag name with case, spaces, hyphens, underscores and quotes removed.

    "Non Defective", "Non-Defective", "NonDefective" and "non defective" share one key; so do "Defect",
    "\u201cDefect" and '"Defect"' (the seed guide has a stray curly quote).
    """
    return _TAG_NOISE.sub("", name or "").casefold()


@dataclass(frozen=True)
class NameRule:
    """How a resource name is matched: ``exact``, ``prefix`` or ``pattern`` (regex, full match).

    All three ignore case (Azure resource names are case-insensitive); ``exact`` also ignores outer
    spaces. ``example`` is the name shown to students in messages (a regex is not something to read).
    """

    kind: str
    value: str
    example: str | None = None

    @classmethod
    def parse(cls, spec: Any) -> NameRule:
        """A rule from lab.yaml: a plain string (exact), or ``{exact|prefix|pattern: ..., example: ...}``."""
        if isinstance(spec, NameRule):
            return spec
        if isinstance(spec, str):
            return cls("exact", spec.strip())
        if isinstance(spec, Mapping):
            kinds = [k for k in ("exact", "prefix", "pattern") if k in spec]
            if len(kinds) != 1 or not isinstance(spec[kinds[0]], str):
                raise ExpectationError(
                    f"a name rule needs exactly one of exact/prefix/pattern (a string), got {dict(spec)!r}"
                )
            kind = kinds[0]
            value = spec[kind] if kind == "pattern" else spec[kind].strip()
            if kind == "pattern":
                try:
                    re.compile(value)
                except re.error as exc:
                    raise ExpectationError(f"name pattern {value!r} is not a valid regex: {exc}") from None
            example = spec.get("example")
            return cls(kind, value, str(example) if example is not None else None)
        raise ExpectationError(f"a name rule is a string or a mapping, got {spec!r}")

    def matches(self, name: str | None) -> bool:
        if name is None:
            return False
        if self.kind == "exact":
            return loose(name) == loose(self.value)
        if self.kind == "prefix":
            return name.strip().casefold().startswith(self.value.casefold())
        return re.fullmatch(self.value, name.strip(), flags=re.IGNORECASE) is not None

    def describe(self) -> str:
        """How a message names the expected resource, e.g. "named 'customvision-casting-100001'"."""
        if self.example:
            return f"named '{self.example}'"
        if self.kind == "exact":
            return f"named '{self.value}'"
        if self.kind == "prefix":
            return f"whose name starts with '{self.value}'"
        readable = self.suggestion()
        if readable != self.value:
            return f"named like '{readable}'"
        return f"whose name matches the lab's naming rule ({self.value})"

    def suggestion(self) -> str:
        """A concrete name to suggest in a hint."""
        if self.example:
            return self.example
        if self.kind in ("exact", "prefix"):
            return self.value
        return _example_from_pattern(self.value)


def _example_from_pattern(pattern: str) -> str:
    """A readable name from a simple pattern: optional parts kept, '?' and escapes dropped.

    Good enough for patterns like ``customvision-?casting(-?100001)?`` -> ``customvision-casting-100001``;
    for anything cleverer the lab should give ``example``.
    """
    text = re.sub(r"\\(.)", r"\1", pattern)
    text = re.sub(r"[()?^$]", "", text)
    return text if re.fullmatch(r"[A-Za-z0-9._-]+", text) else pattern
