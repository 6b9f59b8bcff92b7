"""Where a guide's image reference points: a file in the pack's ``images/`` folder, or a remote URL."""

from __future__ import annotations

import posixpath
import re
from urllib.parse import unquote

_REMOTE = re.compile(r"^https?://", re.IGNORECASE)
_SAFE_NAME = re.compile(r"^[\w.()\- ]+(?:/[\w.()\- ]+)*$")


def is_remote(src: str) -> bool:
    return bool(_REMOTE.match(src.strip()))


def image_name(src: str) -> str | None:
    """The path inside ``images/`` that ``src`` names, or ``None`` if it names nothing we may serve.

    Guides written for other platforms say ``../images/x.png``; ours say ``images/x.png``. Both resolve
    to ``x.png``. Anything with a scheme, an absolute path or a ``..`` that escapes ``images/`` is refused.
    """
    src = unquote(src.strip())
    if not src or ":" in src.split("/")[0] or src.startswith("/"):
        return None
    norm = posixpath.normpath(src)
    parts = norm.split("/")
    # Keep what follows the last "images" segment: "../images/x.png" and "images/x.png" both mean x.png.
    rest = parts[len(parts) - parts[::-1].index("images") :] if "images" in parts else parts
    name = "/".join(rest)
    if not name or ".." in rest or not _SAFE_NAME.match(name):
        return None
    return name
