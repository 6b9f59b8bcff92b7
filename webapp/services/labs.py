"""Lab packs as the service sees them: loaded once per app, with a ``labs`` row each."""

from __future__ import annotations

from flask import current_app

from labguide.packs import LabPack, PackError, available_packs, load_pack

from ..extensions import db
from ..models import Lab
from .errors import NotFound


def pack(lab_id: str) -> LabPack:
    """The loaded pack ``lab_id`` (cached per app); raises :class:`NotFound`."""
    cache: dict[str, LabPack] = current_app.extensions.setdefault("labgrader.packs", {})
    if lab_id not in cache:
        try:
            loaded = load_pack(lab_id, current_app.config["PACK_DIRS"])
        except PackError as exc:
            raise NotFound(f"no lab pack '{lab_id}'") from exc
        if loaded.id != lab_id:
            raise NotFound(f"no lab pack '{lab_id}' (folder '{lab_id}' holds lab '{loaded.id}')")
        cache[lab_id] = loaded
    return cache[lab_id]


def packs() -> list[LabPack]:
    """Every pack this app can serve."""
    return available_packs(current_app.config["PACK_DIRS"])


def ensure(lab_id: str) -> Lab:
    """The ``labs`` row of pack ``lab_id``, created or refreshed from the pack (not committed)."""
    p = pack(lab_id)
    lab = db.session.get(Lab, lab_id)
    if lab is None:
        lab = Lab(id=lab_id)
        db.session.add(lab)
    lab.title, lab.version = p.title, str(p.version)
    return lab
