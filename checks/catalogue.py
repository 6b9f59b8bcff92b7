"""The check catalogue: every registered check, what it observes and what it expects, from its declaration.

``labgrader checks list [--json]`` prints it; nothing here is written twice: ids, titles, facts and keys
come from each check's registration (``checks.base.check``), examples from its keys' examples.
"""

from __future__ import annotations

from typing import Any

import yaml

from checks import facts as F
from checks import registry
from checks.base import Check
from checks.expect import Key, plain


def key_entry(k: Key) -> dict[str, Any]:
    return {
        "name": k.name,
        "type": k.type.name,
        "summary": k.summary(),
        "required": k.required,
        "default": plain(k.default),
        "allowed": list(k.allowed),
        "description": k.description,
        "example": plain(k.example),
    }


def entry(check: Check) -> dict[str, Any]:
    """One check as the catalogue shows it (JSON-ready)."""
    return {
        "id": check.id,
        "title": check.title,
        "severity": check.severity,
        "observes": list(check.reads),
        "observes_also": [f for f in F.closure(check.reads) if f not in check.reads],
        "derived": sorted(f for f in check.reads if f.derived),
        "requires": [r.fact for r in check.requires],
        "uses_when_gathered": list(check.uses),
        # A check whose expectation names what it reads (resources of a type) says how, from its own docstring.
        "observes_named": _first_line(check.named.__doc__) if getattr(check, "named", None) else None,
        "declared": check.expects is not None,
        "expects": [key_entry(k) for k in check.expects or ()],
        "example": check.example(),
    }


def catalogue() -> list[dict[str, Any]]:
    """Every registered check, by id."""
    return [entry(registry.get(cid)) for cid in registry.all_ids()]


def declaration_problems() -> list[str]:
    """Every registered check's declared default or example that its own key refuses (a bug in the check;
    ``Check.declaration_problems``): the catalogue would show it as a usable value."""
    return [p for cid in registry.all_ids() for p in registry.get(cid).declaration_problems()]


def as_text(entries: list[dict[str, Any]]) -> str:
    """The catalogue for a terminal: per check, its title, facts, keys (type, default) and a lab.yaml example."""
    blocks = []
    for e in entries:
        lines = [f"{e['id']}" + (" (advice)" if e["severity"] == "advice" else ""), f"  {e['title']}."]
        observes = ", ".join(e["observes"])
        if e["observes_named"]:
            observes = ", ".join(p for p in (observes, f"what its expectation names: {e['observes_named']}") if p)
        if e["observes_also"]:
            observes += f" (through {', '.join(e['observes_also'])})"
        lines.append(f"  observes: {observes}")
        if e["requires"]:
            lines.append(f"  requires: {', '.join(e['requires'])} (when absent, the task that creates it is named)")
        if e["uses_when_gathered"]:
            lines.append(f"  also uses, when its step gathers them: {', '.join(e['uses_when_gathered'])}")
        if not e["declared"]:
            lines.append("  expects: (not declared)")
        elif not e["expects"]:
            lines.append("  expects: nothing")
        else:
            lines.append("  expects:")
            for k in e["expects"]:
                status = "required" if k["required"] else (
                    f"default {_yaml_inline(k['default'])}" if k["default"] is not None else "optional")
                lines.append(f"    {k['name']}: {k['summary']}; {status}. {k['description']}")
        example = yaml.safe_dump([e["example"]], sort_keys=False, default_flow_style=None, width=110).rstrip()
        lines.append("  example:")
        lines.extend(f"    {line}" for line in example.splitlines())
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks) + "\n"


def _first_line(doc: str | None) -> str | None:
    text = " ".join((doc or "").split("\n\n")[0].split())
    return text.replace("``", "") or None


def _yaml_inline(value: Any) -> str:
    return yaml.safe_dump(value, default_flow_style=True, width=1000).strip().removesuffix("...").strip()
