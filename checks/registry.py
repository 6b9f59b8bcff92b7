"""The check registry: every check is registered under its id and looked up by it.

``get`` raises ``KeyError`` for an unknown id, so a lab pack that names a check that does not exist
fails loudly (``labgrader guide lint`` reports it).
"""

from __future__ import annotations

from typing import Any

_REGISTRY: dict[str, Any] = {}


def register(check: Any) -> Any:
    """Register a check object (it has an ``id``); usable as a decorator. Duplicate ids are a bug."""
    check_id = check.id
    if check_id in _REGISTRY and _REGISTRY[check_id] is not check:
        raise ValueError(f"check id {check_id!r} registered twice")
    _REGISTRY[check_id] = check
    return check


def get(check_id: str) -> Any:
    """The check registered as ``check_id``; raises ``KeyError`` if there is none."""
    _load_builtin()
    try:
        return _REGISTRY[check_id]
    except KeyError:
        raise KeyError(f"unknown check {check_id!r}") from None


def all_ids() -> list[str]:
    _load_builtin()
    return sorted(_REGISTRY)


def _load_builtin() -> None:
    """Import the check modules (one per lab area) so they register themselves."""
    from checks import _builtin  # noqa: F401
