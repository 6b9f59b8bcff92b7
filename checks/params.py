"""The lab parameters facts are gathered and judged with: the expected project name, the performance
threshold, the lab's tag names, the api-version to read a resource type's properties with."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from checks import facts as F
from checks import registry
from checks.expect import TAG, TAG_LIST, plain, render


def lab_parameters(check_expects: Iterable[tuple[str, Mapping[str, Any] | None]],
                   inject: Mapping[str, Any]) -> dict[str, Any]:
    """fact name -> rendered lab parameter, from the lab's ``(check id, expect)`` pairs (all steps).

    The first check that names the parameter wins; otherwise the key's declared default (if any) is used.
    Raises ``checks.expect.ExpectationError`` when an inject value is missing.
    """
    pairs = list(check_expects)
    out: dict[str, Any] = {}

    def expected(check_id: str, key: str, default: Any) -> Any:
        return next((e[key] for cid, e in pairs if cid == check_id and e and key in e), default)

    for fact in F.ALL:
        p = fact.parameter
        if p is None:
            continue
        check = registry.get(p.check_id)
        keys = p.key if isinstance(p.key, tuple) else (p.key,)
        values = []
        for name in keys:
            key = check.declared(name)
            value = expected(p.check_id, name, plain(key.default))
            values.append(render(value, inject) if key.type.templated and value is not None else value)
        value = tuple(values) if isinstance(p.key, tuple) else values[0]
        if value is not None:
            out[fact] = value
    # TAGS: every tag name the lab's checks expect (keys declared as tag names), so a check judging one tag
    # knows the others (a near-miss of "Defect" may be the lab's other tag, "Non Defective", not a typo).
    names: list[str] = []
    for cid, e in pairs:
        try:
            keys = registry.get(cid).expects or ()
        except KeyError:
            continue  # lint and the validator report an unknown check
        for k in keys:
            value = (e or {}).get(k.name)
            if k.type in (TAG, TAG_LIST):
                names.extend([value] if isinstance(value, str) else value if isinstance(value, list) else [])
    if names:
        out[F.TAGS] = tuple(dict.fromkeys(str(n) for n in names))
    # Facts an expectation names (the resources of a type): the first check that gives a parameter wins.
    for cid, e in pairs:
        try:
            check = registry.get(cid)
        except KeyError:
            continue  # an unknown check id is reported where the step's checks are looked up
        for fact, value in check.parameters_for(e).items():
            out.setdefault(fact, render(value, inject))
    return out
