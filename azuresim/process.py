"""The simulator in a process of its own, driven through its admin API, with :class:`~.server.Simulator`'s
interface for what a harness uses: attendees, fault rules, the call log.

A simulator in the caller's process shares its interpreter (its GIL) with the caller: a benchmark's load
generator and grader then wait for the simulator's Python, and it for theirs, which Azure, elsewhere, never
makes them do. This one runs ``python -m azuresim serve`` and answers over HTTPS as Azure would.

    with SimulatorProcess(training_seconds=0.2) as sim:
        creds = sim.create_attendee("ada")
        sim.faults.add({"operation": "*", "latency_ms": 50})
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import requests


class SimulatorError(RuntimeError):
    """The simulator process did not start, or its admin API refused a request (``status``: its HTTP status)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class SimulatorProcess:
    """``azuresim serve`` in a child process (its own session, stopped with it)."""

    def __init__(self, training_seconds: float = 2.0, provisioning_seconds: float = 0.2,
                 host: str = "127.0.0.1") -> None:
        self.args = ["--host", host, "--port", "0", "--training-seconds", str(training_seconds),
                     "--provisioning-seconds", str(provisioning_seconds)]
        self.proc: subprocess.Popen | None = None
        self.info: dict = {}
        self.faults = _Faults(self)
        self._session: requests.Session | None = None

    # -- lifecycle -------------------------------------------------------------------------------------
    def start(self) -> SimulatorProcess:
        self.proc = subprocess.Popen([sys.executable, "-m", "azuresim", "serve", *self.args],
                                     stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True,
                                     start_new_session=True)
        line = self.proc.stdout.readline()  # the cloud profile, once it serves
        if not line:
            self.stop()
            raise SimulatorError("azuresim serve exited before it served (see its stderr)")
        self.info = json.loads(line)
        session = requests.Session()
        session.trust_env = False  # loopback: no proxy, no .netrc
        session.verify = self.info["ca_bundle"]
        self._session = session
        return self

    def stop(self) -> None:
        if self._session is not None:
            self._session.close()
            self._session = None
        if self.proc is None:
            return
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)  # the group this started (start_new_session)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=30)
        self.proc.stdout.close()
        self.proc = None

    def __enter__(self) -> SimulatorProcess:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None

    @property
    def base_url(self) -> str:
        return self.info["arm_endpoint"]

    @property
    def ca_bundle(self) -> str:
        return self.info["ca_bundle"]

    # -- the admin API ---------------------------------------------------------------------------------
    def admin(self, method: str, path: str, **kwargs) -> requests.Response:
        """``method`` on ``/_sim{path}``; raises :class:`SimulatorError` with the simulator's message on an error."""
        if self._session is None:
            raise SimulatorError("start() first")
        response = self._session.request(method, self.info["admin_url"] + path, timeout=30, **kwargs)
        if response.status_code >= 400:
            try:
                message = response.json()["error"]["message"]
            except (ValueError, KeyError, TypeError):
                message = response.text[:200]
            raise SimulatorError(f"{method} /_sim{path}: {response.status_code} {message}", response.status_code)
        return response

    def create_attendee(self, name: str, region: str | None = None, grader_role: str | dict | None = None,
                        grader_scope: str | None = None) -> dict:
        """As :meth:`.server.Simulator.create_attendee`: credentials JSON with the cloud profile."""
        body = {k: v for k, v in (("name", name), ("region", region), ("grader_role", grader_role),
                                  ("grader_scope", grader_scope)) if v is not None}
        return self.admin("POST", "/attendees", json=body).json()

    def reset(self) -> None:
        self.admin("POST", "/reset")

    def call_log(self) -> list[dict]:
        """Every (operation, account) served so far with its count, sorted."""
        return self.admin("GET", "/calls").json()["value"]

    def call_count(self, operation: str | None = None, account: str | None = None) -> int:
        params = {k: v for k, v in (("operation", operation), ("account", account)) if v is not None}
        return self.admin("GET", "/calls", params=params).json()["total"]

    def clear_calls(self) -> None:
        self.admin("DELETE", "/calls")


class _Faults:
    """:class:`~.faults.FaultBook`'s add, list, remove and clear, over the admin API."""

    def __init__(self, sim: SimulatorProcess) -> None:
        self._sim = sim

    def add(self, rule: dict) -> str:
        return self._sim.admin("POST", "/faults", json=rule).json()["id"]

    def list(self) -> list[dict]:
        return self._sim.admin("GET", "/faults").json()["value"]

    def remove(self, rule_id: str) -> bool:
        try:
            self._sim.admin("DELETE", f"/faults/{rule_id}")
        except SimulatorError as exc:
            if exc.status == 404:  # no such rule
                return False
            raise
        return True

    def clear(self) -> None:
        self._sim.admin("DELETE", "/faults")
