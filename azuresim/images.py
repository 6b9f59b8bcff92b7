"""Generated sample images: small, deterministic pictures of cast metal parts, good or defective.

``casting_image(defective, index)`` draws a top view of a round casting (a disc with a hub and a rim) on
a dark bench. Good parts are smooth; defective ones carry dark blow-holes, a crack or a ragged rim. Each
index varies position, size, lighting and noise, and a few indexes are deliberately hard (a single small
pit, a dusty good part), so a model trained on them scores high but not perfectly.
"""

from __future__ import annotations

import io
import math
import random

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

SIZE = 64

# Leading bytes of the formats Custom Vision accepts (JPEG, PNG, BMP, GIF).
_MAGIC = (
    (b"\xff\xd8\xff", "JPEG"),
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"BM", "BMP"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
)


def magic_format(data: bytes) -> str | None:
    """The image format named by ``data``'s leading bytes ("JPEG", "PNG", "BMP", "GIF"), else None."""
    for magic, name in _MAGIC:
        if data.startswith(magic):
            return name
    return None


def image_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) of an encoded image, or None when Pillow cannot read it."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            return img.size
    except Exception:  # any undecodable upload is simply "not an image"
        return None


def _rng(defective: bool, index: int) -> random.Random:
    # A fixed seed per (kind, index): the same call always draws the same picture.
    return random.Random((1 if defective else 0) * 1_000_003 + index * 7919 + 17)


def casting_image(defective: bool, index: int, fmt: str = "JPEG") -> bytes:
    """Encoded bytes (JPEG or PNG) of casting number ``index``, defective or not."""
    rnd = _rng(defective, index)
    bench = rnd.randint(18, 40)
    img = Image.new("L", (SIZE, SIZE), bench)
    draw = ImageDraw.Draw(img)

    cx = SIZE / 2 + rnd.uniform(-4, 4)
    cy = SIZE / 2 + rnd.uniform(-4, 4)
    radius = rnd.uniform(22, 27)
    metal = rnd.randint(140, 185)

    # Rim: a smooth circle for good parts, a ragged outline for some defective ones.
    ragged = defective and rnd.random() < 0.35
    points = []
    for k in range(72):
        angle = 2 * math.pi * k / 72
        r = radius + (rnd.uniform(-3.0, 1.5) if ragged else 0.0)
        points.append((cx + r * math.cos(angle), cy + r * math.sin(angle)))
    draw.polygon(points, fill=metal)
    # Machined ring and hub: the same on every part.
    ring = radius * 0.72
    draw.ellipse((cx - ring, cy - ring, cx + ring, cy + ring), outline=metal - 25, width=2)
    hub = radius * 0.28
    draw.ellipse((cx - hub, cy - hub, cx + hub, cy + hub), fill=metal + 20, outline=metal - 40)

    if defective:
        hard = rnd.random() < 0.12  # a barely visible flaw: one small pit
        n_pits = 1 if hard else rnd.randint(2 if ragged else 3, 7)
        for _ in range(n_pits):
            a = rnd.uniform(0, 2 * math.pi)
            d = rnd.uniform(hub + 2, radius - 3)
            px, py = cx + d * math.cos(a), cy + d * math.sin(a)
            pr = rnd.uniform(0.8, 1.4) if hard else rnd.uniform(1.2, 2.8)
            draw.ellipse((px - pr, py - pr, px + pr, py + pr), fill=rnd.randint(10, 60))
        if not hard and rnd.random() < 0.45:
            a = rnd.uniform(0, 2 * math.pi)
            x, y = cx + (hub + 1) * math.cos(a), cy + (hub + 1) * math.sin(a)
            for _ in range(rnd.randint(4, 8)):
                a += rnd.uniform(-0.6, 0.6)
                nx, ny = x + 3 * math.cos(a), y + 3 * math.sin(a)
                draw.line((x, y, nx, ny), fill=rnd.randint(20, 60), width=1)
                x, y = nx, ny
    elif rnd.random() < 0.15:
        # A dusty good part: one faint speck that a careless model mistakes for a pit.
        a = rnd.uniform(0, 2 * math.pi)
        d = rnd.uniform(hub + 2, radius - 3)
        px, py = cx + d * math.cos(a), cy + d * math.sin(a)
        draw.ellipse((px - 1, py - 1, px + 1, py + 1), fill=metal - rnd.randint(50, 80))

    # Lighting gradient and sensor noise, then a slight blur like a real camera.
    angle = rnd.uniform(0, 2 * math.pi)
    strength = rnd.uniform(0, 25)
    noise = rnd.uniform(2, 6)
    ys, xs = np.mgrid[0:SIZE, 0:SIZE].astype(np.float32) - SIZE / 2
    shade = strength * (xs * math.cos(angle) + ys * math.sin(angle)) / SIZE
    grain = np.random.default_rng(rnd.getrandbits(32)).normal(0, noise, (SIZE, SIZE))
    arr = np.asarray(img, dtype=np.float32) + shade + grain
    img = Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8), "L")
    img = img.filter(ImageFilter.GaussianBlur(0.5))

    # Castings are grey with a faint warm tint: store as RGB like a camera would.
    rgb = Image.merge("RGB", (img.point(lambda v: min(255, v + 4)), img, img.point(lambda v: max(0, v - 4))))
    out = io.BytesIO()
    if fmt.upper() == "PNG":
        rgb.save(out, "PNG")
    else:
        rgb.save(out, "JPEG", quality=88)
    return out.getvalue()
