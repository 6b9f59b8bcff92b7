"""pylti1p3 wired to labgrader: registrations from the database, the launch data storage of :mod:`.storage`,
the tool's key from :mod:`.keys`, and an HTTP session with timeouts for the platform's endpoints."""

from __future__ import annotations

import hashlib
import threading
import time
from typing import Any
from urllib.parse import urlencode

import requests
from pylti1p3.contrib.flask import FlaskMessageLaunch, FlaskOIDCLogin, FlaskRequest
from pylti1p3.deployment import Deployment
from pylti1p3.registration import Registration
from pylti1p3.service_connector import REQUESTS_USER_AGENT, ServiceConnector
from pylti1p3.tool_config.abstract import ToolConfAbstract

from . import keys, platforms
from .models import LtiPlatform
from .storage import DEFAULT_LIFETIME, DatabaseStorage, OneTimeNonceSessionService

HTTP_TIMEOUT = (5, 15)  # seconds: connect, read; for the platform's JWKS, token and service endpoints
# A platform's public keys are kept this long, so a class launching at once asks its JWKS once, not per launch.
# Short enough that a key the platform withdraws stops being trusted within the hour.
JWKS_LIFETIME = 3600  # seconds
# A launch signed with a key not in the kept JWKS fetches it again (the platform rotated its key), but at most
# this often: a forged token naming random key ids must not turn the tool against the platform's JWKS endpoint.
JWKS_REFETCH_AFTER = 300  # seconds


class TimeoutSession(requests.Session):
    """A requests session that never waits on a platform without a bound, and takes no proxy from the
    environment."""

    def __init__(self) -> None:
        super().__init__()
        self.headers["User-Agent"] = REQUESTS_USER_AGENT + " labgrader"

    def request(self, *args: Any, **kwargs: Any) -> requests.Response:
        kwargs.setdefault("timeout", HTTP_TIMEOUT)
        return super().request(*args, **kwargs)


def registration(platform: LtiPlatform) -> Registration:
    """pylti1p3's registration of ``platform``, signing with the tool's current key."""
    key = keys.current()
    reg = (Registration().set_issuer(platform.issuer).set_client_id(platform.client_id)
           .set_auth_login_url(platform.auth_login_url).set_auth_token_url(platform.auth_token_url)
           .set_key_set_url(platform.key_set_url).set_tool_private_key(keys.private_pem(key))
           .set_tool_public_key(key.public_pem))
    if platform.auth_audience:
        reg.set_auth_audience(platform.auth_audience)
    return reg


class DatabaseToolConf(ToolConfAbstract):
    """Registrations looked up by issuer and client id (several per issuer allowed)."""

    def __init__(self) -> None:
        self.platform: LtiPlatform | None = None  # the one the last lookup found

    def check_iss_has_one_client(self, iss: str) -> bool:
        return False

    def check_iss_has_many_clients(self, iss: str) -> bool:
        return True

    def _find(self, iss: str, client_id: str | None) -> Registration | None:
        found = platforms.find(iss, client_id)
        if found is None:
            return None
        self.platform = found
        return registration(found)

    def find_registration_by_issuer(self, iss: str, *args: Any, **kwargs: Any) -> Registration | None:
        return self._find(iss, None)

    def find_registration_by_params(self, iss: str, client_id: str, *args: Any, **kwargs: Any):
        return self._find(iss, client_id)

    def find_deployment(self, iss: str, deployment_id: str) -> Deployment | None:
        return self.find_deployment_by_params(iss, deployment_id, None)

    def find_deployment_by_params(self, iss: str, deployment_id: str, client_id: str | None, *args: Any,
                                  **kwargs: Any) -> Deployment | None:
        found = platforms.find(iss, client_id)
        if found is None or deployment_id not in (found.deployment_ids or []):
            return None
        return Deployment().set_deployment_id(deployment_id)


class Connector(ServiceConnector):
    """pylti1p3's service connector with an access-token cache per process keyed by issuer, client id and
    scopes (the Flask one keys on the issuer alone, mixing two registrations of one LMS)."""

    _tokens: dict[str, tuple[str, float]] = {}
    _lock = threading.Lock()

    def _scope_key(self, scopes: Any) -> str:
        return "|".join([self._registration.get_issuer() or "", self._registration.get_client_id() or "",
                         *sorted(scopes)])

    def _get_cached_access_token(self, scope_key: str) -> str | None:
        with self._lock:
            token, until = self._tokens.get(scope_key, ("", 0.0))
        return token if token and until > time.monotonic() else None

    def _cache_access_token(self, scope_key: str, access_token: str, expires_in: float) -> None:
        with self._lock:  # a minute early: never send a token that expires on the way
            self._tokens[scope_key] = (access_token, time.monotonic() + float(expires_in or 0) - 60)


class KeyCachingLaunch(FlaskMessageLaunch):
    """pylti1p3's Flask launch that keeps each platform's JWKS in the launch data storage (shared by every
    instance) and fetches it again when a launch names a key it does not hold."""

    def fetch_public_key(self, key_set_url: str) -> Any:
        storage: DatabaseStorage = self._session_service.data_storage  # keys not tied to a session: see storage
        key = "jwks-" + hashlib.sha256(key_set_url.encode()).hexdigest()
        kid = self._jwt.get("header", {}).get("kid")
        kept = storage.get_value(key)
        if kept and (_holds(kept["jwks"], kid) or time.time() - kept["fetched_at"] < JWKS_REFETCH_AFTER):
            return kept["jwks"]
        jwks = super().fetch_public_key(key_set_url)  # no caching storage set: a plain GET, checked as JSON
        if isinstance(jwks, dict):
            storage.set_value(key, {"jwks": jwks, "fetched_at": time.time()}, JWKS_LIFETIME)
        return jwks


def _holds(jwks: Any, kid: str | None) -> bool:
    return isinstance(jwks, dict) and any(k.get("kid") == kid for k in jwks.get("keys", []) if isinstance(k, dict))


def _services(request: FlaskRequest) -> dict[str, Any]:
    storage = DatabaseStorage()
    storage.set_request(request)
    session_service = OneTimeNonceSessionService(request)
    session_service.set_data_storage(storage)
    session_service.set_launch_data_lifetime(DEFAULT_LIFETIME)
    return {"session_service": session_service, "launch_data_storage": storage}


class CookieCheckingLogin(FlaskOIDCLogin):
    """pylti1p3's login with its cookie check: inside the LMS's iframe the page first tests whether the browser
    keeps this site's cookies there; if it does, the login goes on in the frame, else the page offers to open
    the lab in a new window (first-party, where cookies work). Our own page: a static script, no inline one."""

    def get_cookies_allowed_js_check(self):
        from flask import render_template, request

        self.validate_oidc_login()  # an unregistered platform is refused before any page
        _, params = self.get_cookies_allowed_js_check_params()
        return render_template("lti/cookies_check.html", continue_url=f"{request.base_url}?{urlencode(params)}")


def oidc_login(conf: DatabaseToolConf) -> FlaskOIDCLogin:
    request = FlaskRequest()
    return CookieCheckingLogin(request, conf, **_services(request)).enable_check_cookies()


def message_launch(conf: DatabaseToolConf, launch_id: str | None = None) -> FlaskMessageLaunch:
    """A launch to validate (from this request's id_token), or, with ``launch_id``, one validated before."""
    request = FlaskRequest()
    options = {**_services(request), "requests_session": TimeoutSession(), "service_connector_cls": Connector}
    if launch_id is not None:
        return KeyCachingLaunch.from_cache(launch_id, request, conf, **options)
    launch = KeyCachingLaunch(request, conf, **options)
    # PyJWT checks the signature and exp (and iat, nbf); the audience is the registration's client id, checked
    # by pylti1p3 when it looks the registration up. exp and iat must be there.
    launch.set_jwt_verify_options({"verify_aud": False, "require": ["exp", "iat"]})
    return launch
