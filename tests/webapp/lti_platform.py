"""An LTI 1.3 platform (an LMS) for tests, built on the independent ``lti1p3platform`` library and served over
HTTP on loopback: its JWKS, its OIDC authorization endpoint (which answers with the signed launch form), its
OAuth2 token endpoint, an AGS line item that records the scores posted to it, an NRPS roster and the Deep
Linking return endpoint. labgrader's code is not used here: what the tool sends is checked by the library.

A test asks :meth:`Platform.login_url` for the address that starts a launch (the platform's "click on the course
link"), and :class:`Browser` follows the redirect chain and the auto-posting forms like a browser would.
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from dataclasses import dataclass, field
from html import unescape
from typing import Any
from urllib.parse import urljoin

import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask, abort, jsonify, request
from lti1p3platform.ltiplatform import LTI1P3PlatformConfAbstract
from lti1p3platform.message_launch import LTIAdvantageMessageLaunchAbstract
from lti1p3platform.oidc_login import OIDCLoginAbstract
from lti1p3platform.registration import Registration
from lti1p3platform.request import Request
from werkzeug.serving import make_server

INSTRUCTOR = "http://purl.imsglobal.org/vocab/lis/v2/membership#Instructor"
TA = "http://purl.imsglobal.org/vocab/lis/v2/membership/Instructor#TeachingAssistant"
LEARNER = "http://purl.imsglobal.org/vocab/lis/v2/membership#Learner"
INSTITUTION_FACULTY = "http://purl.imsglobal.org/vocab/lis/v2/institution/person#Faculty"
AGS_SCOPES = ["https://purl.imsglobal.org/spec/lti-ags/scope/lineitem",
              "https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly",
              "https://purl.imsglobal.org/spec/lti-ags/scope/score"]
NRPS_SCOPE = "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly"
CONTEXT_ID = "course-101"


def pem_pair() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return private, public


@dataclass
class LaunchSpec:
    """What the next launch carries (set by the test), and how to spoil it for a refusal test."""

    user_id: str
    roles: list[str]
    custom: dict[str, str] = field(default_factory=dict)
    name: str = ""
    deep_link: bool = False
    context_title: str = "Computer Vision 101"
    expired: bool = False
    audience: str | None = None  # another client id
    deployment_id: str | None = None  # another deployment
    signing_key: str | None = None  # another private key (a forged signature)


class _Request(Request):
    def build_metadata(self, req: Any):
        return {"method": req.method, "form_data": req.form.to_dict(), "get_data": req.args.to_dict(),
                "headers": dict(req.headers), "content_type": req.content_type, "path": req.path, "json": None}


class Platform:
    """The platform server. ``tool_url`` is labgrader's base URL."""

    def __init__(self, tool_url: str, *, client_id: str = "labgrader-client", deployment_id: str = "deploy-1") -> None:
        self.tool_url = tool_url.rstrip("/")
        self.client_id, self.deployment_id = client_id, deployment_id
        self.private_key, self.public_key = pem_pair()
        self.specs: dict[str, LaunchSpec] = {}
        self.login_urls: dict[str, str] = {}
        self.last_hint = ""
        self.scores: list[dict] = []
        self.score_statuses: list[int] = []  # answers to the next score posts (then 200)
        self.tokens_issued = 0
        self.jwks_fetches = 0
        self.members: list[dict] = []
        self.deep_link_items: list[list[dict]] = []
        self.lock = threading.Lock()
        self.app = self._make_app()
        self.server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        # A short poll interval: shutdown() waits for the loop's next look (0.5 s by default, in every test).
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def rotate_key(self) -> None:
        """Sign with a new key pair from now on; the JWKS publishes only the new public key."""
        self.private_key, self.public_key = pem_pair()

    # -- what an admin types into labgrader ----------------------------------------------------------------

    @property
    def issuer(self) -> str:
        return self.url

    def registration_fields(self) -> dict[str, Any]:
        return {"issuer": self.issuer, "client_id": self.client_id, "deployment_ids": [self.deployment_id],
                "auth_login_url": self.url + "/auth", "auth_token_url": self.url + "/token",
                "key_set_url": self.url + "/jwks"}

    @property
    def lineitem_url(self) -> str:
        return self.url + "/lineitems/7/lineitem"

    # -- the library's platform side -----------------------------------------------------------------------

    def registration(self, spec: LaunchSpec | None = None) -> Registration:
        real_kid = Registration.get_jwk(self.public_key)["kid"]

        class Forged(Registration):
            def get_kid(self) -> str:  # another key, under the real key's id: only the signature is wrong
                return real_kid

        reg = (Forged() if spec and spec.signing_key else Registration())
        reg = (reg.set_iss(self.issuer).set_client_id(self.client_id)
               .set_deployment_id(spec.deployment_id if spec and spec.deployment_id else self.deployment_id)
               .set_oidc_login_url(self.tool_url + "/lti/login").set_launch_url(self.tool_url + "/lti/launch")
               .set_deeplink_launch_url(self.tool_url + "/lti/launch")
               .set_tool_key_set_url(self.tool_url + "/lti/jwks")
               .set_platform_private_key(spec.signing_key if spec and spec.signing_key else self.private_key)
               .set_platform_public_key(self.public_key))
        return reg

    def config(self, spec: LaunchSpec | None = None) -> LTI1P3PlatformConfAbstract:
        platform = self

        class Conf(LTI1P3PlatformConfAbstract):
            def init_platform_config(self, **kwargs: Any) -> None:
                pass

            def get_registration_by_params(self, **kwargs: Any) -> Registration:
                return platform.registration(spec)

        conf = Conf()
        conf.get_registration()
        return conf

    def login_url(self, spec: LaunchSpec) -> str:
        """Where the browser goes when the user clicks the course link: the tool's OIDC login initiation."""
        hint = uuid.uuid4().hex
        self.specs[hint] = spec
        self.last_hint = hint
        platform = self

        class Login(OIDCLoginAbstract):
            def set_lti_message_hint(self, **kwargs: Any) -> None:
                self._lti_message_hint = hint

            def get_redirect(self, url: str) -> str:
                return url

        login = Login(None, self.config(spec))
        login.set_lti_message_hint()
        if spec.deep_link:
            login.set_deeplinking_launch_url()
        del platform
        self.login_urls[hint] = login.initiate_login(spec.user_id)
        return self.login_urls[hint]

    def _make_app(self) -> Flask:
        app = Flask("lti-test-platform")
        platform = self

        @app.get("/course/<hint>")
        def course(hint: str):
            """A course page with the lab in an iframe, as an LMS shows an LTI link."""
            return (f'<h1>Course</h1><iframe title="Lab" style="width:100%;height:600px" '
                    f'src="{platform.login_urls[hint]}"></iframe>')

        @app.get("/jwks")
        def jwks():
            with platform.lock:
                platform.jwks_fetches += 1
            return jsonify({"keys": platform.registration().get_jwks()})

        @app.route("/auth", methods=["GET", "POST"])
        def auth():
            """The OIDC authorization endpoint: checks the tool's request, answers with the launch form."""
            params = request.values
            spec = platform.specs.get(params.get("lti_message_hint", ""))
            if spec is None or params.get("login_hint") != spec.user_id:
                abort(400)
            assert params.get("response_type") == "id_token" and params.get("scope") == "openid"
            assert params.get("redirect_uri") == platform.tool_url + "/lti/launch"

            class Launch(LTIAdvantageMessageLaunchAbstract):
                def render_launch_form(self, launch_data: dict, **kwargs: Any) -> str:
                    return (f'<form method="post" action="{launch_data["launch_url"]}">'
                            f'<input type="hidden" name="id_token" value="{launch_data["id_token"]}">'
                            f'<input type="hidden" name="state" value="{launch_data["state"]}"></form>'
                            "<script>document.forms[0].submit()</script>")  # as LMSs do; scripts off: no-op

                def get_launch_message(self, include_extra_claims: bool = True) -> dict:
                    message = super().get_launch_message(include_extra_claims)
                    if spec.audience:
                        message["aud"] = message["azp"] = spec.audience
                    return message

            launch = Launch(_Request(request), platform.config(spec))
            launch.set_user_data(spec.user_id, spec.roles, full_name=spec.name or None)
            launch.set_launch_context_claim(CONTEXT_ID, context_title=spec.context_title)
            launch.set_resource_link_claim("link-1", title="Spot the Flaw")
            if spec.custom:
                launch.set_custom_parameters_claim(dict(spec.custom))
            launch.set_ags(platform.url + "/lineitems", platform.lineitem_url)
            launch.set_nrps(platform.url + "/memberships")
            if spec.deep_link:
                launch.set_dl(platform.url + "/deep_link_return", title="Add a lab",
                              accept_types={"ltiResourceLink"}, extra_data={"opaque": "abc"})
            if spec.expired:
                launch.set_id_token_expiration(-60)
            return launch.lti_launch()

        @app.post("/token")
        def token():
            try:
                answer = platform.config().get_access_token(request.form.to_dict())
            except Exception as exc:  # the library refused the tool's client assertion
                return jsonify({"error": "invalid_client", "error_description": str(exc)}), 400
            with platform.lock:
                platform.tokens_issued += 1
            return jsonify(answer)

        def _authorized(scope: str) -> bool:
            header = request.headers.get("Authorization", "")
            return header.startswith("Bearer ") and platform.config().validate_token(header[7:], [scope])

        @app.post("/lineitems/7/lineitem/scores")
        def scores():
            if not _authorized(AGS_SCOPES[2]):
                abort(401)
            assert request.content_type == "application/vnd.ims.lis.v1.score+json"
            with platform.lock:
                status = platform.score_statuses.pop(0) if platform.score_statuses else 200
                if status == 200:
                    platform.scores.append(request.get_json(force=True))
            return ("", status) if status != 200 else jsonify({})

        @app.get("/memberships")
        def memberships():
            if not _authorized(NRPS_SCOPE):
                abort(401)
            body = {"id": platform.url + "/memberships", "context": {"id": CONTEXT_ID, "title": "CV 101"},
                    "members": platform.members}
            return body, 200, {"Content-Type": "application/vnd.ims.lti-nrps.v2.membershipcontainer+json"}

        @app.post("/deep_link_return")
        def deep_link_return():
            items = platform.config().validate_deeplinking_resp(request.form.to_dict())
            platform.deep_link_items.append(items)
            return "<p>added</p>"

        return app

    def wait_scores(self, count: int, timeout: float = 20) -> list[dict]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if len(self.scores) >= count:
                    return list(self.scores)
            time.sleep(0.05)
        raise AssertionError(f"the platform got {len(self.scores)} scores, expected {count}, within {timeout} s")

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


_CONTINUE = re.compile(r'data-continue="([^"]+)"')
_FORM = re.compile(r'<form[^>]*action="([^"]*)"[^>]*>(.*?)</form>', re.S)
_INPUT = re.compile(r'<input[^>]*name="([^"]+)"[^>]*value="([^"]*)"', re.S)


def form_of(html: str) -> tuple[str, dict[str, str]]:
    """(action, fields) of the first form on a page."""
    match = _FORM.search(html)
    assert match, f"no form on the page: {html[:500]}"
    return unescape(match.group(1)), {unescape(k): unescape(v) for k, v in _INPUT.findall(match.group(2))}


class Browser:
    """A requests session that follows redirects and posts the auto-submitting forms, as a browser would."""

    def __init__(self, verify: str | bool = True) -> None:
        self.session = requests.Session()
        self.session.trust_env = False
        self.session.verify = verify
        self.last_launch_form: tuple[str, dict[str, str]] | None = None

    def authorize(self, login_url: str) -> tuple[str, dict[str, str]]:
        """Click the course link: tool login (its cookie check) -> platform authorization; the launch form."""
        answer = self.session.get(login_url, timeout=30)
        check = _CONTINUE.search(answer.text)
        if check:  # the cookie check page: its script continues to the same login (cookies work here)
            answer = self.session.get(unescape(check.group(1)), timeout=30)  # -> the platform's /auth
        assert answer.status_code == 200, (answer.status_code, answer.text[:500])
        self.last_launch_form = form_of(answer.text)
        return self.last_launch_form

    def launch(self, login_url: str) -> requests.Response:
        """... and the launch form posted to the tool (what the platform's page script does)."""
        action, fields = self.authorize(login_url)
        return self.post(action, fields)

    def post(self, url: str, fields: dict[str, str]) -> requests.Response:
        return self.session.post(url, data=fields, timeout=30)

    def get(self, url: str) -> requests.Response:
        return self.session.get(url, timeout=30)

    def submit(self, page: requests.Response, **values: str) -> requests.Response:
        action, fields = form_of(page.text)
        return self.post(urljoin(page.url, action), {**fields, **values})
