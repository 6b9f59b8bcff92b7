"""The JSON Schema of lab.yaml, generated from the pack model and the checks' declared expectations.

:func:`lab_schema` builds it (one ``if id == <check> then expect: <its declared keys>`` rule per registered
check), ``labgrader guide schema`` prints it, ``labguide/lab.schema.json`` ships it with the package for
editors (a test keeps that file equal to what :func:`lab_schema` gives), and ``guide lint`` validates lab.yaml
with it, reporting lines through :func:`line_of`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

SCHEMA_ID = "https://labgrader.example/schemas/lab.schema.json"
PUBLISHED = Path(__file__).resolve().parent / "lab.schema.json"
"""The schema as published with the package (``labgrader guide schema -o`` regenerates it)."""

_TEXT = {"type": "string"}
_POSITIVE = {"type": "number", "exclusiveMinimum": 0}


def _check_rules() -> tuple[list[str], list[dict[str, Any]]]:
    from checks import registry

    ids, rules = [], []
    for cid in registry.all_ids():
        check = registry.get(cid)
        ids.append(cid)
        if getattr(check, "expects", None) is None:  # registered without declaring its keys: expect is open
            continue
        from checks.expect import expect_schema

        rules.append({
            "if": {"type": "object", "properties": {"id": {"const": cid}}, "required": ["id"]},
            "then": {"properties": {"expect": {**expect_schema(check.expects),
                                               "description": f"What {cid} expects ({check.title})."}}},
        })
    return ids, rules


def lab_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a lab pack's lab.yaml."""
    from labguide.packs import AutoCheckSettings

    ids, rules = _check_rules()
    check = {
        "type": "object",
        "required": ["id"],
        "additionalProperties": False,
        "properties": {
            "id": {"type": "string", "enum": ids,
                   "description": "A registered check (`labgrader checks list` shows them all)."},
            "expect": {"type": "object", "description": "The check's expectations (its declared keys)."},
        },
        "allOf": rules,
    }
    step = {
        "type": "object",
        "required": ["id", "task", "checks"],
        "additionalProperties": False,
        "properties": {
            "id": {**_TEXT, "minLength": 1, "description": "The step's id, unique in the lab (a fresh UUID); "
                                                           "the guide places it with <validation step=\"...\"/>."},
            "task": {**_TEXT, "minLength": 1, "description": "The task number of the guide heading the step "
                                                             "sits under (\"### Task 3.1: ...\")."},
            "title": {**_TEXT, "description": "The task's title; the guide's heading is what students read, so "
                                              "this must say the same (or be left out)."},
            "requires": {"type": "array", "items": _TEXT,
                         "description": "Ids of the steps whose tasks must be done first."},
            "weight": {**_POSITIVE, "default": 1, "description": "The step's share of the lab's score."},
            "note": {**_TEXT, "description": "Shown with the step's Validate button, as written."},
            "checks": {"type": "array", "items": check, "description": "The checks the step runs."},
        },
    }
    inject = {
        "type": "object",
        "additionalProperties": False,
        "properties": {
            "description": {**_TEXT, "description": "What the value is (for authors and the lab platform)."},
            "secret": {"type": "boolean", "default": False, "description": "Masked in the guide, never shared."},
            "default": {"type": ["string", "number", "boolean"],
                        "description": "The value demos and dry runs use (never a real attendee's)."},
        },
    }
    seconds = {**_POSITIVE, "description": "Seconds."}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "labgrader lab pack (lab.yaml)",
        "description": "A lab's steps, the checks each runs and what they expect. Generated from the checks' "
                       "declarations: `labgrader guide schema`.",
        "type": "object",
        "required": ["id", "steps"],
        "additionalProperties": False,
        "properties": {
            "id": {**_TEXT, "minLength": 1, "description": "The lab's id (its folder name by convention)."},
            "title": {**_TEXT, "description": "The lab's title."},
            "version": {"type": ["integer", "string"], "description": "The lab's version."},
            "guide": {**_TEXT, "default": "guide.md", "description": "The guide file, beside lab.yaml."},
            "injects": {"type": "object", "additionalProperties": inject,
                        "description": "Per-attendee values the guide shows as <inject key=\"...\"/> and "
                                       "expectations use as {Key}."},
            "scoring": {
                "type": "object", "additionalProperties": False,
                "properties": {
                    "pass_mark": {"type": "number", "minimum": 0, "maximum": 100,
                                  "description": "The score (0-100) that passes the lab."},
                    "keep_credit": {"type": "boolean", "default": True,
                                    "description": "A step that passed keeps its credit if it fails later."},
                },
            },
            "auto_check": {
                "description": "Validate active attendees' unfinished steps in the background: true (the "
                               "defaults), false, or the settings.",
                "anyOf": [{"type": "boolean"}, {
                    "type": "object", "additionalProperties": False,
                    "properties": {f: {**seconds, "default": getattr(AutoCheckSettings, f)}
                                   for f in AutoCheckSettings.FIELDS},
                }],
            },
            "steps": {"type": "array", "items": step, "description": "The lab's validation steps, in order."},
        },
    }


def dumps(schema: dict[str, Any] | None = None) -> str:
    """The schema as the published file holds it (stable key order, final newline)."""
    return json.dumps(schema if schema is not None else lab_schema(), indent=2, ensure_ascii=False) + "\n"


def validator() -> Any:
    """A jsonschema validator of :func:`lab_schema` (regex formats checked)."""
    import jsonschema

    cls = jsonschema.Draft202012Validator
    return cls(lab_schema(), format_checker=cls.FORMAT_CHECKER)


def line_of(root: yaml.Node | None, path: Sequence[Any], *, key: bool = False) -> int:
    """The 1-based line of ``path`` (keys and list indexes) in a composed YAML document; the deepest node that
    exists when the path goes further (a missing key is reported where its mapping is). ``key``: the line of
    the last key itself rather than its value."""
    node, line = root, (root.start_mark.line + 1) if root is not None else 0
    for part in path:
        if isinstance(node, yaml.MappingNode):
            hit = next(((k, v) for k, v in node.value if k.value == str(part)), None)
            if hit is None:
                return line
            node, line = hit[1], (hit[0] if key else hit[1]).start_mark.line + 1
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line + 1
        else:
            return line
    return line
