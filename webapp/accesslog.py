"""gunicorn's access log without launch tokens: whoever reads the log must not be able to open a
student's guide. ``labgrader serve`` uses :class:`RedactingLogger`."""

from __future__ import annotations

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


class RedactingLogger(Logger):
    """gunicorn's logger, with every text atom of the access log (request line, path, query, Referer and
    the other headers) redacted."""

    def atoms(self, resp: Any, req: Any, environ: dict, request_time: Any) -> dict:
        atoms = super().atoms(resp, req, environ, request_time)
        return {k: redact(v) if isinstance(v, str) else v for k, v in atoms.items()}
