"""DNS rebinding: a webhook is sent to the address the SSRF check passed, not to whatever the name resolves to
by the time of the connection; TLS still checks the certificate against the URL's host name."""

from __future__ import annotations

import json
import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
import trustme

from webapp.extensions import db
from webapp.models import WebhookEvent
from webapp.services import webhooks

NAME = "hooks.rebind.test"


class _Handler(BaseHTTPRequestHandler):
    seen: list[dict] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server's name
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        _Handler.seen.append({k.lower(): v for k, v in self.headers.items()})
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def server():
    _Handler.seen = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def rebinding_dns(monkeypatch):
    """``NAME`` resolves to loopback once (the check), then to an address nothing listens on."""
    real = socket.getaddrinfo
    answers = ["127.0.0.1"]

    def getaddrinfo(host, port, *args, **kwargs):
        if host == NAME:
            address = answers.pop(0) if answers else "10.255.255.1"
            return real(address, port, *args, **kwargs)
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return answers


def test_the_send_connects_to_the_address_that_passed_the_check(make_app, server, rebinding_dns):
    app = make_app(AUTO_MIGRATE=True, WEBHOOK_ALLOW_PRIVATE_TARGETS=True, WEBHOOK_TIMEOUT_SECONDS=3)
    port = server.server_address[1]
    with app.app_context():
        sub, _ = webhooks.create(f"http://{NAME}:{port}/hooks", [webhooks.STEP_STATUS_CHANGED])
        event = WebhookEvent(msg_id="msg_pin", subscription_id=sub.id, attendee_key="lab/ada", type="x",
                             payload={"a": 1}, state="pending", tries=0, next_attempt_at=webhooks.utcnow(),
                             retry_until=webhooks.utcnow() + webhooks.timedelta(hours=1))
        db.session.add(event)
        db.session.commit()
        assert webhooks.deliver_for("lab/ada") == 1, db.session.get(WebhookEvent, event.id).last_error
    assert rebinding_dns == []  # the name was resolved once, by the check
    assert [h["host"] for h in _Handler.seen] == [f"{NAME}:{port}"]


def test_a_pinned_https_connection_checks_the_certificate_against_the_name(tmp_path):
    ca = trustme.CA()
    cert = ca.issue_cert(NAME)
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    cert.configure_cert(context)
    httpd.socket = context.wrap_socket(httpd.socket, server_side=True)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    bundle = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(bundle))
    port = httpd.server_address[1]
    try:
        with requests.Session() as session:
            session.trust_env, session.verify = False, str(bundle)  # as the sender: no CA bundle from the env
            url = webhooks.pin(session, f"https://{NAME}:{port}/hooks", "127.0.0.1")
            assert url == f"https://127.0.0.1:{port}/hooks"
            assert session.post(url, data=json.dumps({}), timeout=5).status_code == 204
        with requests.Session() as session:  # the same address under a name the certificate does not carry
            session.trust_env, session.verify = False, str(bundle)  # as the sender: no CA bundle from the env
            url = webhooks.pin(session, f"https://other.rebind.test:{port}/hooks", "127.0.0.1")
            with pytest.raises(requests.exceptions.SSLError):
                session.post(url, data=b"{}", timeout=5)
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_background_threads_start_with_the_first_request_outside_tests(make_app, tmp_path):
    from webapp.factory import start_background
    from webapp.services import autocheck

    served = make_app(AUTO_MIGRATE=True, TESTING=False, DATABASE_URL=f"sqlite:///{tmp_path / 'served.db'}")
    tested = make_app(AUTO_MIGRATE=True, DATABASE_URL=f"sqlite:///{tmp_path / 'tested.db'}")
    try:
        assert served.test_client().get("/healthz").status_code == 200
        assert tested.test_client().get("/healthz").status_code == 200
        sweeper = served.extensions["labgrader.webhook_sweeper"][0]
        assert sweeper.is_alive() and served.extensions["labgrader.autocheck_scheduler"][0].is_alive()
        start_background(served)  # idempotent: the same threads
        assert served.extensions["labgrader.webhook_sweeper"][0] is sweeper
        # A test app starts nothing by itself: tests start what they need, once.
        assert "labgrader.webhook_sweeper" not in tested.extensions
        assert "labgrader.autocheck_scheduler" not in tested.extensions
    finally:
        webhooks.stop_sweeper(served)
        autocheck.stop_scheduler(served)
