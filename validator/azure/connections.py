"""The grader's HTTPS connections to Azure: one pool per host, shared by every attendee's credential and client.

Without it each credential and SDK client opened its own connections, so an attendee's first press paid
three or four TLS handshakes (sign-in, ARM, Custom Vision), each with a fresh SSL context loading the CA
file, and a warm press another one to ARM. Pooled connections carry no identity (each request carries its
own token or key, and no cookie is kept), so attendees share them; their credentials, and so their tokens,
stay their own.

azure-core's clients and credentials take a ``RequestsTransport`` over the shared session
(:meth:`Connections.transport`); msrest's Custom Vision client keeps a session per thread and client, onto
which :meth:`Connections.configure_msrest` mounts the shared pool (msrest's ``session_configuration_callback``).
TLS verification is as before: each request is verified against the cloud profile's CA bundle or the
system store.
"""

from __future__ import annotations

import threading
import urllib.request
from http.cookiejar import DefaultCookiePolicy

import requests
from azure.core.pipeline.transport import RequestsTransport
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

# Hosts kept (login, ARM, Custom Vision's regional and custom-subdomain endpoints) and idle connections kept
# per host: a worker's threads (32 at most) each hold one while Azure answers.
HOSTS = 128
PER_HOST = 32


class Connections:
    """The connection pools of one :class:`~validator.runtime.Observation`; :meth:`close` closes them."""

    def __init__(self) -> None:
        # Proxies from the environment are honoured as before, but requests looks them up (and .netrc, whose
        # credentials the grader never wants sent) on every request: only when a proxy is configured.
        self._trust_env = proxy_configured()
        self.session = _session(self._trust_env, Retry(total=False, redirect=False, raise_on_status=False))
        # Made with the first msrest client: only Custom Vision's SDK is msrest's, and only then is msrest loaded.
        self._msrest_adapter: HTTPAdapter | None = None
        self._msrest_lock = threading.Lock()

    def transport(self, verify: str | bool, **options) -> RequestsTransport:
        """An azure-core transport over the shared pool, verifying TLS with ``verify`` (a CA file or True);
        ``options`` are its connection options (``connection_timeout``, ``read_timeout``)."""
        return RequestsTransport(session=self.session, session_owner=False, connection_verify=verify,
                                 use_env_settings=self._trust_env, **options)

    def configure_msrest(self, config) -> None:
        """Make an msrest client (its ``config``) keep its connections between calls, in the shared pool."""
        with self._msrest_lock:
            if self._msrest_adapter is None:
                from msrest.universal_http.requests import ClientRetryPolicy

                # msrest retries through urllib3: its adapter gets msrest's own policy, with no retry (the
                # validator's RetryPolicy retries), exactly what each client's own adapter had.
                policy = ClientRetryPolicy()
                policy.retries = 0
                self._msrest_adapter = _adapter(policy())
        config.keep_alive = True  # else msrest closes its session, and so the connection, after each call
        config.proxies.use_env_settings = self._trust_env
        config.session_configuration_callback = self._mount_msrest

    def _mount_msrest(self, session: requests.Session, _global_config, _local_config, **kwargs) -> dict:
        if session.adapters.get("https://") is not self._msrest_adapter:
            session.cookies.set_policy(_NO_COOKIES)
            for prefix in ("https://", "http://"):
                session.mount(prefix, self._msrest_adapter)
        return kwargs

    def close(self) -> None:
        """Close every pooled connection (a later request would open new ones)."""
        self.session.close()
        if self._msrest_adapter is not None:
            self._msrest_adapter.close()


def proxy_configured() -> bool:
    """Whether the environment names a proxy (``NO_PROXY`` alone, which only lists exceptions, does not)."""
    return any(scheme != "no" for scheme in urllib.request.getproxies())


# Cookies would be shared between attendees through a shared session; Azure's APIs need none.
_NO_COOKIES = DefaultCookiePolicy(allowed_domains=[])


def _adapter(retries: Retry) -> HTTPAdapter:
    return HTTPAdapter(pool_connections=HOSTS, pool_maxsize=PER_HOST, max_retries=retries)


def _session(trust_env: bool, retries: Retry) -> requests.Session:
    session = requests.Session()
    session.trust_env = trust_env
    session.cookies.set_policy(_NO_COOKIES)
    adapter = _adapter(retries)
    for prefix in ("https://", "http://"):
        session.mount(prefix, adapter)
    return session
