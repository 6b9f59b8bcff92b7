"""Run the simulator: HTTPS on loopback with its own CA, in a background thread or in the foreground.

    with Simulator() as sim:
        creds = sim.create_attendee("ada")
        ...  # official SDK clients configured from creds / sim.info

``sim.info`` is the cloud profile the SDKs need: ``authority_host``, ``arm_endpoint``,
``credential_scope``, ``ca_bundle`` and ``admin_url``.
"""

from __future__ import annotations

import collections
import contextlib
import socket
import ssl
import tempfile
import threading
from pathlib import Path

import trustme
from werkzeug.serving import ThreadedWSGIServer

from . import persistence
from .faults import FaultBook
from .keepalive import KeepAliveHandler
from .state import REGIONAL_SUFFIX, Account, SimState


class _Server(ThreadedWSGIServer):
    daemon_threads = True

    def __init__(self, host: str, port: int, app, *, handler, ssl_context: ssl.SSLContext) -> None:
        super().__init__(host, port, app, handler=handler)
        # TLS set up here, not by werkzeug, whose listening socket shakes hands inside accept(): one client at
        # a time on the accepting thread, so a crowd of new connections queued behind each other's handshakes.
        # Azure shakes hands with many clients at once; so does each connection's own thread here.
        self.socket = ssl_context.wrap_socket(self.socket, server_side=True, do_handshake_on_connect=False)
        self.ssl_context = ssl_context
        self.closing = False
        self.connections: set[socket.socket] = set()  # open ones, so server_close() can end the idle ones
        self.handshakes = 0  # TLS connections accepted, for tests of connection reuse
        self._connections_lock = threading.Lock()

    def process_request_thread(self, request, client_address):
        try:
            request.do_handshake()
        except OSError:  # ssl.SSLError included: a client that gave up or does not speak TLS
            self.shutdown_request(request)
            return
        with self._connections_lock:
            self.connections.add(request)
            self.handshakes += 1
        request.azuresim_idle = True
        super().process_request_thread(request, client_address)

    def server_close(self):
        self.closing = True
        super().server_close()
        # A kept-open connection waiting for its next request would keep its thread and socket until the idle
        # timeout: end it now (its thread reads end-of-stream and closes the socket). Busy ones finish.
        with self._connections_lock:
            idle = [c for c in self.connections if getattr(c, "azuresim_idle", False)]
        for conn in idle:
            with contextlib.suppress(OSError):
                socket.socket.shutdown(conn, socket.SHUT_RDWR)  # the raw socket: the TLS layer stays intact

    def shutdown_request(self, request):
        with self._connections_lock:
            self.connections.discard(request)
        if getattr(request, "azuresim_reset", False):
            # No FIN first: close at once so the linger-0 socket sends RST.
            self.close_request(request)
            return
        super().shutdown_request(request)

    def handle_error(self, request, client_address):
        # Clients that time out on a hang or vanish mid-answer are expected here, not errors.
        pass


class Simulator:
    """A loopback Azure: Entra ID, ARM Cognitive Services, Custom Vision Training and Prediction."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        state_dir: str | Path | None = None,
        training_seconds: float = 2.0,
        provisioning_seconds: float = 0.2,
        hang_seconds: float = 120.0,
        token_lifetime: float = 3599,
        arm_page_size: int = 100,
    ) -> None:
        """``state_dir`` given: the CA and the world are kept there across restarts (see persistence).

        ``provisioning_seconds`` is how long creating, updating, deleting or purging an account takes
        (ARM's long-running operations; a few seconds on Azure). ``token_lifetime`` is the ``expires_in``
        of access tokens; ``arm_page_size`` how many items an ARM list answers per page before a
        ``nextLink``. All three may be changed while running.
        """
        self.host = host
        self.port = port
        self.training_seconds = training_seconds
        self.provisioning_seconds = provisioning_seconds
        self.hang_seconds = hang_seconds
        self.token_lifetime = token_lifetime
        self.arm_page_size = arm_page_size
        self.persistent = state_dir is not None
        self._tmp = None if state_dir else tempfile.TemporaryDirectory(prefix="azuresim-")
        self.state_dir = Path(state_dir or self._tmp.name)
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self.state = persistence.load(self.state_dir) if self.persistent else None
        self.state = self.state or SimState()
        self._saver: persistence.Saver | None = None
        self.faults = FaultBook()
        self.stopping = threading.Event()
        self.calls: collections.Counter[tuple[str, str | None]] = collections.Counter()
        self._calls_lock = threading.Lock()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------------------
    def _ssl_context(self) -> ssl.SSLContext:
        self.ca_bundle = self.state_dir / "azuresim-ca.pem"
        ca = persistence.load_ca(self.state_dir) if self.persistent else None
        if ca is None:
            ca = trustme.CA(organization_name="azuresim local CA")
            ca.cert_pem.write_to_path(str(self.ca_bundle))
            if self.persistent:
                persistence.save_ca_key(self.state_dir, ca)
        cert = ca.issue_cert("127.0.0.1", "localhost", "::1")
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        cert.configure_cert(ctx)
        return ctx

    def start(self) -> Simulator:
        from .app import create_sim_app

        self.stopping.clear()
        try:
            self.app = create_sim_app(self)
            self._server = _Server(self.host, self.port, self.app, handler=KeepAliveHandler,
                                   ssl_context=self._ssl_context())
        except BaseException:
            self.stop()  # no half-started simulator (and no leaked temporary directory)
            raise
        self.port = self._server.server_port
        self._thread = threading.Thread(target=self._server.serve_forever, name="azuresim", daemon=True)
        self._thread.start()
        if self.persistent:
            # Endpoints name the port, which may differ from the last run's.
            with self.state.lock:
                for acct in (*self.state.accounts.values(), *self.state.deleted_accounts.values()):
                    acct.endpoint = self.account_endpoint(acct)
            self._saver = persistence.Saver(self.state, self.state_dir)
            self._saver.start()
        return self

    def serve_forever(self) -> None:
        """Block until interrupted (the CLI's foreground mode)."""
        assert self._thread is not None, "start() first"
        try:
            while self._thread.is_alive():
                self._thread.join(0.5)
        finally:
            self.stop()

    def stop(self) -> None:
        self.stopping.set()  # releases hung requests
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._saver is not None:
            self._saver.stop()  # saves a last time
            self._saver = None
        if self._tmp is not None:
            self._tmp.cleanup()
            self._tmp = None

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def tls_connections(self) -> int:
        """How many TLS connections the server has accepted since it started (each one a handshake)."""
        return self._server.handshakes if self._server is not None else 0

    # -- the world -------------------------------------------------------------------------------------
    def create_attendee(self, name: str, region: str | None = None, grader_role: str | dict | None = None,
                        grader_scope: str | None = None) -> dict:
        """A new tenant, subscription, resource group and service principal; returns credentials JSON.

        The credentials carry the cloud profile too (``authority_host``, ``arm_endpoint``,
        ``credential_scope``, ``ca_bundle``). With ``grader_role`` (and ``grader_scope``: ``subscription``
        or ``resource_group``) they are a separate grader principal's holding only that role, with the
        student's own under ``student`` (see :meth:`SimState.create_attendee`). Raises
        :class:`azuresim.state.AttendeeError` on bad input.
        """
        creds = self.state.create_attendee(name, region, grader_role, grader_scope)
        profile = self.info
        for k in ("authority_host", "arm_endpoint", "credential_scope", "ca_bundle"):
            creds[k] = profile[k]
        # What a lab platform hands the guide per attendee: a suffix that keeps global names unique.
        creds["injects"] = {"DeploymentID": creds["subscription_id"].replace("-", "")[:6]}
        return creds

    def reset(self) -> None:
        """Forget every tenant, subscription, account and token (fault rules and call log too)."""
        self.state.reset()
        self.faults.clear()
        self.clear_calls()

    # -- what clients need -----------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"https://{host}:{self.port}"

    @property
    def info(self) -> dict:
        return {
            "authority_host": self.base_url,
            "arm_endpoint": self.base_url,
            "credential_scope": f"{self.base_url}/.default",
            "ca_bundle": str(self.ca_bundle),
            "admin_url": f"{self.base_url}/_sim",
        }

    def account_endpoint(self, account: Account) -> str:
        """The data-plane endpoint of an account, path-based since every account shares this host.

        With a custom subdomain: ``{base}/cv/<subdomain>/`` (Azure: ``https://<subdomain>.cognitiveservices.
        azure.com/``). Without: the region's shared ``{base}/cv/<region>.api/`` (Azure: ``https://<region>.
        api.cognitive.microsoft.com/``), where the key picks the account.
        """
        host = account.custom_subdomain or f"{account.location}{REGIONAL_SUFFIX}"
        return f"{self.base_url}/cv/{host.lower()}/"

    # -- call log --------------------------------------------------------------------------------------
    def record_call(self, operation: str, account: str | None) -> None:
        with self._calls_lock:
            self.calls[(operation, account.lower() if account else None)] += 1

    def call_log(self) -> list[dict]:
        """Every (operation, account) served so far with its count, sorted."""
        with self._calls_lock:
            items = list(self.calls.items())
        return [{"operation": op, "account": acct, "count": n}
                for (op, acct), n in sorted(items, key=lambda kv: (kv[0][0], kv[0][1] or ""))]

    def clear_calls(self) -> None:
        with self._calls_lock:
            self.calls.clear()

    def call_count(self, operation: str | None = None, account: str | None = None) -> int:
        with self._calls_lock:
            return sum(
                n for (op, acct), n in self.calls.items()
                if (operation is None or op == operation) and (account is None or acct == account.lower())
            )
