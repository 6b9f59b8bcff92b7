"""The Flask service: student guide, proctor dashboard, platform API.

``create_app(test_config)`` builds one app; no configuration is read at import time. Feature
blueprints live in their own modules (``webapp.student``, ``webapp.proctor``, ``webapp.api``,
``webapp.auth``), each exporting ``bp``; the factory registers the ones present.

The factory and its helpers live in :mod:`webapp.factory` and are imported on first use: importing a
submodule (``webapp.cli``, ``webapp.crypto``) costs nothing more.
"""

from __future__ import annotations

from typing import Any

# The names webapp.factory offers as webapp.<name>.
_FACTORY = ("BLUEPRINT_MODULES", "PG_MIGRATION_LOCK", "SchemaError", "create_app", "ensure_migrated",
            "migration_lock", "schema_revisions", "upgrade_database")
__all__ = list(_FACTORY)


def __getattr__(name: str) -> Any:
    if name in _FACTORY:
        from . import factory

        return getattr(factory, name)
    raise AttributeError(f"module 'webapp' has no attribute {name!r}")
