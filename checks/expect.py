"""Expectations: templating with inject values, resource-name rules, tolerant name matching."""

from __future__ import annotations

import json
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
                try:  # with the flags matches() uses: one entry in re's cache per pattern, not two
                    re.compile(value, re.IGNORECASE)
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


# -- declared expectations -------------------------------------------------------------------------------
#
# Each check declares the keys its lab.yaml ``expect`` mapping takes (:class:`Key`), once, in its
# registration. The same declaration gives the JSON Schema of lab.yaml (``labguide.schema``), lint's findings,
# ``labgrader checks list``, and, at run time, the values the check reads (:func:`resolve`: templates rendered,
# checked, defaults applied), so what a lab may write and what a check does cannot drift apart.

_NO_PLACEHOLDER = {"not": {"pattern": _PLACEHOLDER.pattern}}


def _same(value: Any) -> Any:
    return value


def _as_list(value: Any) -> list[Any]:
    return [value] if isinstance(value, str) else list(value)


@dataclass(frozen=True)
class KeyType:
    """What kind of value an expectation key takes: its JSON Schema, how a catalogue names it, whether its
    strings are ``{Inject}`` templates, and the Python value a check reads (``coerce``, after validation)."""

    name: str
    summary: str
    schema: Mapping[str, Any]
    templated: bool = False
    coerce: Any = _same
    list_of: bool = False  # the allowed values of a Key of this type apply to each item

    def __repr__(self) -> str:
        return self.name


TEXT = KeyType("text", "text", {"type": "string", "minLength": 1, **_NO_PLACEHOLDER})
"""Text compared as written (case- and space-tolerant where the check says so); no ``{Inject}`` templates."""

TEMPLATE = KeyType("template", "template text ({Inject} allowed)", {"type": "string", "minLength": 1},
                   templated=True)
"""Text in which ``{Key}`` is replaced by the attendee's inject value ``Key`` before the check reads it."""

TAG = KeyType("tag", "a tag name", {"type": "string", "minLength": 1, **_NO_PLACEHOLDER})
"""A Custom Vision tag name (matched ignoring case, spaces, hyphens and quotes)."""

TAG_LIST = KeyType("tag_list", "a tag name or a list of tag names",
                   {"anyOf": [{"type": "string", "minLength": 1, **_NO_PLACEHOLDER},
                              {"type": "array", "items": {"type": "string", "minLength": 1, **_NO_PLACEHOLDER}}]},
                   coerce=_as_list)

TEXT_LIST = KeyType("text_list", "a list of text",
                    {"type": "array", "items": {"type": "string", "minLength": 1, **_NO_PLACEHOLDER}},
                    coerce=list, list_of=True)

INTEGER = KeyType("integer", "a whole number", {"type": "integer"}, coerce=int)

NUMBER = KeyType("number", "a number", {"type": "number"}, coerce=float)

BOOLEAN = KeyType("boolean", "true or false", {"type": "boolean"})

_RULE_EXAMPLE = {"example": {"type": "string", "description": "The name shown to students in messages."}}
_RULE_VALUE = {"exact": {"type": "string", "minLength": 1}, "prefix": {"type": "string", "minLength": 1},
               "pattern": {"type": "string", "minLength": 1, "format": "regex"}}
NAME_RULE = KeyType(
    "name_rule", "a name rule: a name, or {exact|prefix|pattern: ..., example: ...} ({Inject} allowed)",
    {"anyOf": [
        {"type": "string", "minLength": 1},
        *({"type": "object", "required": [kind], "additionalProperties": False,
           "properties": {kind: value, **_RULE_EXAMPLE}} for kind, value in _RULE_VALUE.items()),
    ]},
    templated=True,
    coerce=lambda v: NameRule.parse(v),
)
"""How a resource name is matched (:class:`NameRule`): exact (a plain string), prefix, or pattern (a regex,
matched whole, ignoring case); inject values in a pattern are regex-escaped."""

TYPES = (TEXT, TEMPLATE, TAG, TAG_LIST, TEXT_LIST, INTEGER, NUMBER, BOOLEAN, NAME_RULE)


@dataclass(frozen=True)
class Key:
    """One key a check's ``expect`` takes: its name, type, whether lab.yaml must give it or else its default,
    the values it allows (each item's, for a list type), bounds for numbers, what it means, and an example."""

    name: str
    type: KeyType
    description: str
    required: bool = False
    default: Any = None
    allowed: tuple[Any, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    example: Any = None

    def __post_init__(self) -> None:
        if self.required and self.default is not None:
            raise ValueError(f"expectation key {self.name!r} is required, so it has no default")

    def schema(self) -> dict[str, Any]:
        """The JSON Schema of this key's value, with its description, default and example."""
        base = dict(self.type.schema)
        if self.allowed:
            if self.type.list_of:
                base["items"] = {**base["items"], "enum": list(self.allowed)}
            else:
                base["enum"] = list(self.allowed)
        if self.minimum is not None:
            base["minimum"] = self.minimum
        if self.maximum is not None:
            base["maximum"] = self.maximum
        out: dict[str, Any] = {"description": self.description, **base}
        if self.default is not None:
            out["default"] = plain(self.default)
        if self.example is not None:
            out["examples"] = [plain(self.example)]
        return out

    def summary(self) -> str:
        """The type in words, with its allowed values and bounds: "a whole number (at least 1)"."""
        parts = [self.type.summary]
        if self.allowed:
            parts.append("one of " + ", ".join(map(str, self.allowed)))
        if self.minimum is not None:
            parts.append(f"at least {_num(self.minimum)}")
        if self.maximum is not None:
            parts.append(f"at most {_num(self.maximum)}")
        return parts[0] + (f" ({'; '.join(parts[1:])})" if len(parts) > 1 else "")


def plain(value: Any) -> Any:
    """A declared value as JSON has it (tuples become lists)."""
    if isinstance(value, tuple | list):
        return [plain(v) for v in value]
    if isinstance(value, Mapping):
        return {k: plain(v) for k, v in value.items()}
    return value


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def expect_schema(keys: tuple[Key, ...]) -> dict[str, Any]:
    """The JSON Schema of an ``expect`` mapping holding ``keys``: no other key, the required ones present."""
    schema: dict[str, Any] = {
        "type": "object",
        "properties": {k.name: k.schema() for k in keys},
        "additionalProperties": False,
    }
    required = [k.name for k in keys if k.required]
    if required:
        schema["required"] = required
    return schema


@dataclass(frozen=True)
class ExpectProblem:
    """One way an ``expect`` mapping disagrees with its declaration; ``key`` is the top-level key concerned
    (None for the mapping itself), ``path`` the full path below ``expect`` (for a line number)."""

    key: str | None
    path: tuple[Any, ...]
    message: str


def check_expect(check_id: str, keys: tuple[Key, ...], expect: Any) -> list[ExpectProblem]:
    """Every problem of ``expect`` against ``keys`` (the JSON Schema of :func:`expect_schema`), in words a lab
    author reads: unknown keys with a close match, missing required keys, ill-typed values, values outside
    the allowed set. An empty list means ``expect`` is valid."""
    if not isinstance(expect, Mapping):
        return [ExpectProblem(None, (), f"the expect of check '{check_id}' must be a mapping of keys to values, "
                                        f"not {_shown(expect)}")]
    # Every validation checks the same few expectations again: remember the verdict (a bounded memo).
    try:
        memo = (check_id, id(keys), json.dumps(expect, sort_keys=True))
    except (TypeError, ValueError):
        memo = None
    if memo is not None and memo in _CHECKED and _CHECKED[memo][0] is keys:
        return list(_CHECKED[memo][1])
    problems = []
    for err in sorted(_validator(keys).iter_errors(dict(expect)), key=lambda e: (list(map(str, e.path)), e.validator)):
        problems.extend(_explain(check_id, keys, err))
    if memo is not None:
        if len(_CHECKED) >= 4096:
            _CHECKED.clear()
        _CHECKED[memo] = (keys, tuple(problems))
    return problems


_CHECKED: dict[tuple, tuple[tuple[Key, ...], tuple[ExpectProblem, ...]]] = {}


_VALIDATORS: dict[int, tuple[tuple[Key, ...], Any]] = {}  # id(keys) -> (keys, compiled validator)


def _validator(keys: tuple[Key, ...]) -> Any:
    """The compiled validator of ``expect_schema(keys)``, made once per declaration."""
    import jsonschema

    cached = _VALIDATORS.get(id(keys))
    if cached is None or cached[0] is not keys:
        cls = jsonschema.Draft202012Validator
        cached = _VALIDATORS[id(keys)] = (keys, cls(expect_schema(keys), format_checker=cls.FORMAT_CHECKER))
    return cached[1]


def _shown(value: Any) -> str:
    if isinstance(value, str):
        return repr(value)
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return f"{type(value).__name__} {value!r}"


def _explain(check_id: str, keys: tuple[Key, ...], err: Any) -> list[ExpectProblem]:
    """A jsonschema error of an ``expect`` mapping, in a lab author's words."""
    import difflib

    names = [k.name for k in keys]
    path = tuple(err.absolute_path)
    if err.validator == "anyOf":
        # One of the forms was meant (a {pattern: ...} rule with a bad regex): say what is wrong in it.
        deeper = [e for e in err.context
                  if e.relative_path or e.validator not in ("type", "required", "additionalProperties")]
        if len(deeper) == 1 or (deeper and len({tuple(e.absolute_path) for e in deeper}) == 1):
            return _explain(check_id, keys, deeper[0])
    if err.validator == "additionalProperties" and not path:
        out = []
        for extra in sorted(set(err.instance) - set(names)):
            close = difflib.get_close_matches(extra, names, n=1, cutoff=0.6)
            hint = f"did you mean {close[0]}?" if close else (
                f"its keys are {', '.join(names)}" if names else "it takes no expectations")
            out.append(ExpectProblem(extra, (extra,), f"{extra}: check '{check_id}' has no expectation "
                                                      f"'{extra}'; {hint}"))
        return out
    if err.validator == "required" and not path:
        missing = [n for n in err.validator_value if n not in err.instance]
        return [ExpectProblem(None, (), f"check '{check_id}' needs expectation '{n}' "
                                        f"({_key(keys, n).description.rstrip('.')})") for n in missing]
    key = str(path[0]) if path else None
    declared = _key(keys, key) if key else None
    where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path).lstrip(".") or "expect"
    value = err.instance
    if err.validator == "enum":
        options = ", ".join(map(str, err.validator_value))
        close = difflib.get_close_matches(str(value), [str(o) for o in err.validator_value], n=1, cutoff=0.5)
        suggestion = f"; did you mean {close[0]}?" if close else ""
        return [ExpectProblem(key, path, f"{where}: {_shown(value)} is not allowed for check '{check_id}' "
                                         f"(allowed: {options}){suggestion}")]
    if err.validator == "not":
        return [ExpectProblem(key, path, f"{where}: {_shown(value)} uses an {{Inject}} template, but "
                                         f"'{key}' of check '{check_id}' is compared as written "
                                         "(templates are for keys of type template or name_rule)")]
    if err.validator in ("minimum", "maximum"):
        bound = "at least" if err.validator == "minimum" else "at most"
        return [ExpectProblem(key, path, f"{where}: must be {bound} {_num(err.validator_value)}, "
                                         f"not {_shown(value)}")]
    if err.validator == "format":
        return [ExpectProblem(key, path, f"{where}: {_shown(value)} is not a valid regular expression")]
    if err.validator == "minLength":
        return [ExpectProblem(key, path, f"{where}: must not be empty")]
    if declared is not None and len(path) == 1:
        return [ExpectProblem(key, path, f"{where}: must be {declared.summary()}, not {_shown(value)}")]
    if err.validator == "required":
        missing = [n for n in err.validator_value if n not in err.instance]
        detail = f"needs {', '.join(repr(n) for n in missing)}"
    else:
        detail = err.message
    shape = f" ({key} is {declared.summary()})" if declared is not None else ""
    return [ExpectProblem(key, path, f"{where}: {detail}{shape}")]


def _key(keys: tuple[Key, ...], name: str | None) -> Key | None:
    return next((k for k in keys if k.name == name), None)


class Expectations(Mapping[str, Any]):
    """A check's expectations as it reads them: every declared key, rendered, checked, with its default
    (None when it has none and the lab gave none). Reading an undeclared key is a bug: ``KeyError``."""

    def __init__(self, check_id: str, values: Mapping[str, Any]) -> None:
        self._check_id = check_id
        self._values = dict(values)

    def __getitem__(self, name: str) -> Any:
        if name not in self._values:
            raise KeyError(f"check {self._check_id} reads expectation {name!r}, which it does not declare")
        return self._values[name]

    def get(self, name: str, default: Any = None) -> Any:  # noqa: D102 - same contract, but strict on names
        value = self[name]
        return default if value is None else value

    def __iter__(self):
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"Expectations({self._check_id}, {self._values!r})"


def resolve(check_id: str, keys: tuple[Key, ...], expect: Mapping[str, Any] | None,
            inject: Mapping[str, Any] | None = None) -> Expectations:
    """``expect`` as check ``check_id`` reads it: templated keys rendered with ``inject`` (when given),
    checked against ``keys``, defaults applied and values coerced (a name rule parsed, a number a float).

    Raises :class:`ExpectationError` saying every problem: a lab.yaml the author must fix, never a FAIL.
    """
    if isinstance(expect, Expectations):
        return expect
    raw = dict(expect or {})
    declared = {k.name: k for k in keys}
    rendered = {name: (render(value, inject) if inject is not None and name in declared
                       and declared[name].type.templated else value)
                for name, value in raw.items()}
    problems = check_expect(check_id, keys, rendered)
    if problems:
        raise ExpectationError("; ".join(p.message for p in problems))
    values = {}
    for k in keys:
        value = rendered.get(k.name, plain(k.default))
        values[k.name] = None if value is None else k.type.coerce(value)
    return Expectations(check_id, values)
