"""Keeping a simulator's world and CA in a directory, so ``sim serve --state DIR`` survives restarts.

Files in DIR: ``azuresim-ca.pem`` (the CA certificate clients trust), ``azuresim-ca.key`` (its key,
mode 0600) and ``azuresim-state.pickle`` (the :class:`SimState`). The state is pickled: it holds
Custom Vision data written by ``azuresim.customvision`` too, which has no JSON form of its own.
Only load state directories you created: unpickling runs code.
"""

from __future__ import annotations

import logging
import os
import pickle
import threading
from pathlib import Path

import trustme

from .state import SimState

log = logging.getLogger(__name__)

CA_CERT = "azuresim-ca.pem"
CA_KEY = "azuresim-ca.key"
STATE_FILE = "azuresim-state.pickle"


def load_ca(state_dir: Path) -> trustme.CA | None:
    """The CA kept in ``state_dir``, or None when there is none yet."""
    cert, key = state_dir / CA_CERT, state_dir / CA_KEY
    if not (cert.is_file() and key.is_file()):
        return None
    return trustme.CA.from_pem(cert.read_bytes(), key.read_bytes())


def save_ca_key(state_dir: Path, ca: trustme.CA) -> None:
    path = state_dir / CA_KEY
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(ca.private_key_pem.bytes())


def load(state_dir: Path) -> SimState | None:
    """The saved state, or None when there is none (a corrupt file is reported and set aside)."""
    path = state_dir / STATE_FILE
    if not path.is_file():
        return None
    try:
        with path.open("rb") as fh:
            state = pickle.load(fh)
    except Exception as exc:  # a half-written or incompatible file must not stop the simulator
        aside = path.with_suffix(".corrupt")
        path.replace(aside)
        log.warning("azuresim: could not load %s (%s); moved it to %s and started empty", path, exc, aside)
        return None
    if not isinstance(state, SimState):
        log.warning("azuresim: %s does not hold a SimState; starting empty", path)
        return None
    return state


def save(state: SimState, state_dir: Path) -> None:
    """Write the state atomically (to a temporary file, then rename)."""
    path = state_dir / STATE_FILE
    tmp = path.with_suffix(".tmp")
    with state.lock:
        data = pickle.dumps(state, protocol=pickle.HIGHEST_PROTOCOL)
    tmp.write_bytes(data)
    tmp.replace(path)


class Saver:
    """Saves the state every ``interval`` seconds when ``state.version`` moved, and once more on stop."""

    def __init__(self, state: SimState, state_dir: Path, interval: float = 2.0) -> None:
        self.state, self.state_dir, self.interval = state, state_dir, interval
        self._saved = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="azuresim-saver", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _save_if_changed(self, force: bool = False) -> None:
        version = self.state.version
        if force or version != self._saved:
            try:
                save(self.state, self.state_dir)
                self._saved = version
            except Exception:  # keep serving; the next tick or stop() tries again
                log.exception("azuresim: saving state to %s failed", self.state_dir)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._save_if_changed()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        # Custom Vision changes do not always bump the version: save unconditionally on the way out.
        self._save_if_changed(force=True)
