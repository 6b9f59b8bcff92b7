"""The simulator's HTTP request handler: werkzeug's, keeping connections open as Azure does."""

from __future__ import annotations

import contextlib
import socket
import struct
import traceback

from werkzeug.exceptions import ClientDisconnected, InternalServerError
from werkzeug.serving import WSGIRequestHandler
from werkzeug.wsgi import LimitedStream


class KeepAliveHandler(WSGIRequestHandler):
    """Werkzeug's handler, quieter, keeping HTTP/1.1 connections open as Azure does, and able to drop a
    connection with an RST on request.

    Werkzeug answers every request with ``Connection: close``, so each SDK request would pay a TLS handshake
    Azure does not make it pay. Here a connection stays open unless the client asks to close it, its request
    body was chunked, or the answer broke off; the rest of each answer is werkzeug's, byte for byte.
    """

    protocol_version = "HTTP/1.1"
    # Headers and body are separate writes: without TCP_NODELAY, Nagle and the client's delayed ACK stall each
    # kept-alive answer by ~40 ms.
    disable_nagle_algorithm = True
    # An idle kept-open connection is closed after this long (Azure's load balancer: 4 minutes by default).
    timeout = 240

    def handle_one_request(self):
        self.connection.azuresim_idle = True  # until the request line is in (stop() may close it meanwhile)
        if self.server.closing:
            self.close_connection = True
            return
        super().handle_one_request()

    def parse_request(self) -> bool:
        self.connection.azuresim_idle = False
        return super().parse_request()

    def run_wsgi(self) -> None:
        """Werkzeug's ``run_wsgi``, minus its ``Connection: close``: the request body is read off first."""
        if self.headers.get("Expect", "").lower().strip(" \t") == "100-continue":
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        self.environ = environ = self.make_environ()
        body, reusable = environ["wsgi.input"], False  # a chunked body closes the connection, as before
        if not environ.get("wsgi.input_terminated"):
            try:
                length = int(environ.get("CONTENT_LENGTH") or 0)
            except ValueError:
                length = -1
            if length >= 0:
                body, reusable = LimitedStream(self.rfile, length), True
                environ["wsgi.input"] = body
        answer: dict = {}

        def start_response(status, headers, exc_info=None):
            if exc_info:
                try:
                    if "sent" in answer:
                        raise exc_info[1].with_traceback(exc_info[2])
                finally:
                    exc_info = None
            elif "status" in answer:
                raise AssertionError("Headers already set")
            answer.update(status=status, headers=headers)
            return write

        def write(data: bytes) -> None:
            nonlocal reusable
            if "sent" not in answer:
                answer["sent"] = True
                code, _, msg = answer["status"].partition(" ")
                self.send_response(int(code), msg)
                names = set()
                for name, value in answer["headers"]:
                    self.send_header(name, value)
                    names.add(name.lower())
                answer["chunked"] = not ("content-length" in names or environ["REQUEST_METHOD"] == "HEAD"
                                         or 100 <= int(code) < 200 or int(code) in (204, 304))
                if answer["chunked"]:
                    self.send_header("Transfer-Encoding", "chunked")
                # Read off what the app left of the body: the next request line starts right after it (and a
                # client still sending sees this answer rather than a reset).
                try:
                    while body.read(65536):
                        pass
                except (OSError, ValueError, ClientDisconnected):  # a body cut short or malformed
                    reusable = False
                if not reusable or self.close_connection:
                    self.send_header("Connection", "close")
                self.end_headers()
            if data:
                if answer["chunked"]:
                    self.wfile.write(b"%x\r\n%b\r\n" % (len(data), data))
                else:
                    self.wfile.write(data)
            self.wfile.flush()

        def execute(app) -> None:
            chunks = app(environ, start_response)
            try:
                for data in chunks:
                    write(data)
                if "sent" not in answer:
                    write(b"")
                if answer["chunked"]:
                    self.wfile.write(b"0\r\n\r\n")
            finally:
                if hasattr(chunks, "close"):
                    chunks.close()

        try:
            execute(self.server.app)
        except (ConnectionError, TimeoutError) as e:
            self.close_connection = True
            self.connection_dropped(e, environ)
        except Exception:
            self.close_connection = True  # an answer broken off leaves the connection unusable
            if "sent" not in answer:
                answer.clear()
                with contextlib.suppress(Exception):
                    execute(InternalServerError())
            self.server.log("error", "Error on request:\n%s", traceback.format_exc())

    def make_environ(self):
        environ = super().make_environ()
        environ["azuresim.handler"] = self
        return environ

    def log_request(self, *args, **kwargs):  # the simulator keeps its own call log
        pass

    def abort_connection(self) -> None:
        """Make the server close this connection with SO_LINGER 0 (the client sees a reset)."""
        self.close_connection = True
        self.connection.azuresim_reset = True
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
