"""Lab packs as the service sees them: an index built once per app from its configured pack folders,
with a ``labs`` row each.

A lab id comes from URLs (the API's ``<lab>``), so it is only ever a key into the index: it must look
like a pack id (:data:`LAB_ID`) and name a pack found in the app's ``PACK_DIRS`` (plus the built-in
folder). It is never handed to ``load_pack``, which would read any file it names as a guide.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from dataclasses import dataclass, field

from flask import current_app

from labguide.packs import LabPack, PackError, available_packs, pack_dirs

from ..extensions import db
from ..models import Lab
from .errors import NotFound

log = logging.getLogger(__name__)

LAB_ID = re.compile(r"[a-z0-9][a-z0-9_-]{0,99}")
# An unknown id whose folder exists triggers a rescan at most this often (a new pack dropped in while
# running is served within this time; a flood of requests for it costs one scan per period).
RESCAN_SECONDS = 30.0
_KEY = "labgrader.packs"


@dataclass
class PackIndex:
    """The packs of one app by id, loaded from disk by :meth:`refresh` (and once on first use)."""

    dirs: list[str]
    packs: dict[str, LabPack] = field(default_factory=dict)
    loaded_at: float | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)

    def refresh(self) -> None:
        """Rescan the pack folders; broken packs and ids a URL cannot name are left out (and logged)."""
        errors: list[PackError] = []
        found = available_packs(self.dirs, include_env=False, errors=errors)
        for exc in errors:
            log.warning("lab pack not served: %s", exc)
        packs = {}
        for p in found:
            if LAB_ID.fullmatch(p.id):
                packs[p.id] = p
            else:
                log.warning("lab pack in %s not served: its id %r is not lowercase letters, digits, '-' and '_'",
                            p.root, p.id)
        self.packs, self.loaded_at = packs, time.monotonic()

    def get(self, lab_id: str) -> LabPack | None:
        with self.lock:
            if self.loaded_at is None or (lab_id not in self.packs and self._appeared(lab_id)):
                self.refresh()
        return self.packs.get(lab_id)

    def _appeared(self, lab_id: str) -> bool:
        """Whether a folder named ``lab_id`` holds a lab.yaml (a pack added since the last scan) and the
        last scan is old enough to repeat. ``lab_id`` matched :data:`LAB_ID`: it cannot leave a folder."""
        if self.loaded_at is not None and time.monotonic() - self.loaded_at < RESCAN_SECONDS:
            return False
        return any((d / lab_id / "lab.yaml").is_file() for d in pack_dirs(self.dirs, include_env=False))


def index() -> PackIndex:
    """This app's pack index (created on first use; loads on first lookup)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    found = app.extensions.get(_KEY)
    if found is None:
        found = app.extensions.setdefault(_KEY, PackIndex([str(d) for d in app.config["PACK_DIRS"]]))
    return found


def refresh() -> None:
    """Reload every pack of this app from its folders now (after installing or editing a pack)."""
    idx = index()
    with idx.lock:
        idx.refresh()


def pack(lab_id: str) -> LabPack:
    """The pack ``lab_id`` of this app's index; raises :class:`NotFound` for anything else."""
    if not isinstance(lab_id, str) or not LAB_ID.fullmatch(lab_id):
        raise NotFound(f"no lab pack '{_shown(lab_id)}': lab ids are lowercase letters, digits, '-' and '_'")
    found = index().get(lab_id)
    if found is None:
        raise NotFound(f"no lab pack '{lab_id}'")
    return found


def _shown(value: object) -> str:
    """A bounded, printable echo of a rejected id."""
    text = "".join(c if c.isprintable() else "?" for c in str(value))
    return text if len(text) <= 60 else text[:57] + "..."


def packs() -> list[LabPack]:
    """Every pack this app can serve, sorted by id."""
    idx = index()
    if idx.loaded_at is None:
        with idx.lock:
            if idx.loaded_at is None:
                idx.refresh()
    return [idx.packs[k] for k in sorted(idx.packs)]


def ensure(lab_id: str) -> Lab:
    """The ``labs`` row of pack ``lab_id``, created or refreshed from the pack (not committed)."""
    p = pack(lab_id)
    lab = db.session.get(Lab, lab_id)
    if lab is None:
        lab = Lab(id=lab_id)
        db.session.add(lab)
    lab.title, lab.version = p.title, str(p.version)
    return lab
