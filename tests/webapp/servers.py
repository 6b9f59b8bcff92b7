"""Real labgrader processes for tests: ``labgrader serve`` (gunicorn) and ``labgrader worker``, on loopback,
each in a process group of its own so a test can stop it, or kill it as a crash would, by its id.

Every wait is bounded in time; output goes to a file (a pipe nobody reads could fill and stall the server).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def clean_env(**labgrader: str) -> dict[str, str]:
    """This process's environment without any LABGRADER_* of the developer's, plus ``LABGRADER_<k>=v``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("LABGRADER_")}
    env.update({f"LABGRADER_{k}": str(v) for k, v in labgrader.items()})
    env.setdefault("NO_PROXY", "127.0.0.1,localhost")
    # The checkout these tests belong to, whatever the environment has installed.
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH", "")]))
    return env


@dataclass
class Process:
    proc: subprocess.Popen
    log: Path
    url: str = ""

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def alive(self) -> bool:
        return self.proc.poll() is None

    def stop(self, timeout: float = 30) -> None:
        """SIGTERM to its group (gunicorn and its workers end gracefully), SIGKILL if that takes too long."""
        self._signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.kill()

    def kill(self) -> None:
        """SIGKILL to its whole group at once, as a crash or an OOM kill would end it."""
        self._signal(signal.SIGKILL)
        self.proc.wait(timeout=30)

    def _signal(self, sig: int) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, sig)  # the group this test started (start_new_session)


def start(args: list[str], env: dict[str, str], cwd: Path, name: str) -> Process:
    log = cwd / f"{name}.log"
    with log.open("w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "webapp.cli", *args], env=env, cwd=cwd, stdout=out,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    return Process(proc, log)


def serve(env: dict[str, str], cwd: Path, name: str = "serve", *, workers: int = 1, threads: int = 4,
          ready_within: float = 60) -> Process:
    """``labgrader serve`` on a free loopback port, once ``/healthz`` answers."""
    port = free_port()
    server = start(["serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers),
                    "--threads", str(threads)], env, cwd, name)
    server.url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + ready_within
    while True:
        try:
            if requests.get(server.url + "/healthz", timeout=2).status_code == 200:
                return server
        except (requests.ConnectionError, requests.Timeout):  # gunicorn listens before its worker is ready
            pass
        if not server.alive() or time.monotonic() > deadline:
            server.stop()
            raise AssertionError(f"{name} did not start:\n{server.output()}")
        time.sleep(0.2)
