"""HTTP/1.1 persistent connections: the simulator keeps a connection open between requests, as Azure does."""

from __future__ import annotations

import http.client
import ssl

import pytest
import requests

from ..conftest import simulator


@pytest.fixture
def own_sim():
    """A simulator of the test's own, so no other client's connections are counted."""
    with simulator() as s:
        yield s


def test_one_session_reuses_one_tls_connection(own_sim):
    with requests.Session() as session:
        session.verify = own_sim.info["ca_bundle"]
        session.trust_env = False  # REQUESTS_CA_BUNDLE would win over session.verify
        first = session.get(own_sim.info["admin_url"] + "/state", timeout=10)
        # A body the app never reads (no such route) is read off before the next request on the connection.
        unread = session.post(own_sim.base_url + "/no/such/path", data=b"x" * 100_000, timeout=10)
        token = session.post(own_sim.base_url + "/no-tenant/oauth2/v2.0/token",
                             data={"grant_type": "client_credentials", "client_id": "x", "client_secret": "y"},
                             timeout=10)
        last = session.get(own_sim.info["admin_url"] + "/state", timeout=10)
    assert first.status_code == 200 and last.status_code == 200 and last.json() == first.json()
    assert unread.status_code == 404
    assert token.status_code in (400, 401) and "error" in token.json()
    assert all("Connection" not in r.headers for r in (first, unread, token, last))
    assert own_sim.tls_connections == 1


def test_a_client_asking_to_close_or_sending_a_chunked_body_gets_its_connection_closed(own_sim):
    with requests.Session() as session:
        session.verify = own_sim.info["ca_bundle"]
        session.trust_env = False  # REQUESTS_CA_BUNDLE would win over session.verify
        asked = session.get(own_sim.info["admin_url"] + "/state", headers={"Connection": "close"}, timeout=10)
        chunked = session.post(own_sim.base_url + "/no/such/path", data=iter([b"abc", b"def"]), timeout=10)
        after = session.get(own_sim.info["admin_url"] + "/state", timeout=10)
    assert asked.headers["Connection"] == "close" and chunked.headers["Connection"] == "close"
    assert chunked.status_code == 404 and after.status_code == 200
    assert own_sim.tls_connections == 3


def test_stopping_ends_an_idle_kept_open_connection():
    sim = simulator().start()
    context = ssl.create_default_context(cafile=sim.info["ca_bundle"])
    conn = http.client.HTTPSConnection(sim.host, sim.port, context=context, timeout=10)
    try:
        conn.request("GET", "/_sim/state")
        response = conn.getresponse()
        response.read()
        assert response.status == 200 and not response.will_close
        sim.stop()
        # The server hung up at once (end of stream), rather than leaving the connection to its idle timeout.
        assert conn.sock.recv(1) == b""
    finally:
        conn.close()
        sim.stop()
