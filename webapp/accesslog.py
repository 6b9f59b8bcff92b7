"""Logs without launch tokens: whoever reads a log must not be able to open a student's guide.

``labgrader serve`` uses :class:`RedactingLogger` (gunicorn's access and error logs); ``create_app`` puts
:class:`RedactingFilter` on the app's logger, where Flask logs an unhandled exception with the request's path
("Exception on /launch/<token> [GET]").
"""

from __future__ import annotations

import logging
import re
from typing import Any

from gunicorn.glogging import Logger

# The token is the path segment after /launch/ (also when a proxy sent it percent-encoded), and any
# value of a ``token`` query parameter.
_LAUNCH = re.compile(r"(/launch(?:/|%2f))[^/?#\s\"]+", re.IGNORECASE)
_TOKEN_PARAM = re.compile(r"((?:^|[?&;])token=)[^&;#\s\"]*", re.IGNORECASE)


def redact(text: str) -> str:
    """``text`` with launch tokens replaced by ``***``."""
    return _TOKEN_PARAM.sub(r"\1***", _LAUNCH.sub(r"\1***", text))


class RedactingFilter(logging.Filter):
    """Redacts a record's message and its traceback text; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if redact(message) != message:
            record.msg, record.args = redact(message), None
        if record.exc_info and not record.exc_text:
            # Formatted here, once, as a handler's formatter would (it reuses exc_text when set).
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


def redact_logger(logger: logging.Logger) -> None:
    """Put a :class:`RedactingFilter` on ``logger`` (once: apps built in one process share their logger)."""
    if not any(isinstance(f, RedactingFilter) for f in logger.filters):
        logger.addFilter(RedactingFilter())


class RedactingLogger(Logger):
    """gunicorn's logger, with every text atom of the access log (request line, path, query, Referer and
    the other headers) redacted, and the error log's messages too."""

    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        redact_logger(self.error_log)

    def atoms(self, resp: Any, req: Any, environ: dict, request_time: Any) -> dict:
        atoms = super().atoms(resp, req, environ, request_time)
        return {k: redact(v) if isinstance(v, str) else v for k, v in atoms.items()}
