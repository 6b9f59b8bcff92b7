"""What discovery found for an attendee, remembered between validations: the training resource and the project.

Finding them costs a call each (list the accounts, list the projects) before any call that reads the
student's work can start. A step that only reads *through* them (tags, iterations, predictions) takes them
from here instead; a step that judges them (it reads ``accounts`` or ``projects`` itself: Task 1, Task 2)
observes them fresh, and what it observes is remembered for the next one.

A remembered value is proven by use: the calls made through it answer. When Azure contradicts it (401
from a regenerated or deleted account's key, 404 for a deleted project), the gatherer forgets it and
discovers again within the same validation (``validator.gather``). The training key itself is cached per
resource (``account_keys``), the endpoint and id with the account here; both caches are the
:class:`~validator.runtime.Observation`'s (``runtime.caches``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from checks import facts as F

from .azure.caches import Cache
from .azure.cloud import AttendeeAzure


@dataclass(frozen=True)
class Found:
    """The lab's training resource and, once found in it, the lab's project."""

    account: F.AccountFact
    project: F.ProjectFact | None = None


def key_for(azure: AttendeeAzure, params: dict[str, Any]) -> tuple[str, ...]:
    """Whose discovery this is: the cloud, subscription and resource group, and the lab's names for the
    resource and the project (another lab, or other names, discovers for itself)."""
    names = {fact: params.get(fact) for fact in (F.TRAINING_ACCOUNT, F.PROJECT)}
    return ("discovery", azure.profile.arm_endpoint.rstrip("/").lower(), azure.subscription_id.lower(),
            azure.resource_group.lower(), json.dumps(names, sort_keys=True, default=str))


def recall(memory: Cache, key: tuple[str, ...]) -> Found | None:
    """What ``memory`` (``runtime.caches.discovery``) holds for ``key``, if anything usable."""
    value = memory.get(key)
    if not isinstance(value, dict) or not isinstance(value.get("account"), F.AccountFact):
        return None
    project = value.get("project")
    return Found(value["account"], project if isinstance(project, F.ProjectFact) else None)


def remember(memory: Cache, key: tuple[str, ...], found: Found | None) -> None:
    """Store ``found`` in ``memory``, or forget the attendee's discovery (None)."""
    if found is None:
        memory.delete(key)
    else:
        memory.set(key, {"account": found.account, "project": found.project})
