"""The generated casting images: deterministic, valid, and visibly different when defective."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from azuresim.images import casting_image, image_size, magic_format


def test_images_are_deterministic_and_vary_by_index():
    assert casting_image(True, 3) == casting_image(True, 3)
    assert casting_image(True, 3) != casting_image(True, 4)
    assert casting_image(False, 3) != casting_image(True, 3)


def test_formats_and_magic_bytes():
    assert magic_format(casting_image(False, 1)) == "JPEG"
    assert magic_format(casting_image(False, 1, fmt="PNG")) == "PNG"
    assert image_size(casting_image(False, 1)) == (64, 64)
    buf = io.BytesIO()
    Image.new("RGB", (4, 4)).save(buf, "BMP")
    assert magic_format(buf.getvalue()) == "BMP"
    buf = io.BytesIO()
    Image.new("RGB", (4, 4)).save(buf, "GIF")
    assert magic_format(buf.getvalue()) == "GIF"
    assert magic_format(b"%PDF-1.7") is None
    assert image_size(b"\xff\xd8\xff but truncated") is None


def _dark_pixels_on_part(data: bytes) -> int:
    """Pixels on the metal (bright neighbourhood) much darker than their surroundings: pits and cracks."""
    a = np.asarray(Image.open(io.BytesIO(data)).convert("L"), dtype=np.float32)
    p = np.pad(a, 2, mode="edge")
    local = sum(p[dy:dy + 64, dx:dx + 64] for dy in range(5) for dx in range(5)) / 25
    return int((((a - local) < -30) & (local > 90)).sum())


def test_defective_parts_carry_more_dark_flaws():
    good = [_dark_pixels_on_part(casting_image(False, i)) for i in range(30)]
    bad = [_dark_pixels_on_part(casting_image(True, i)) for i in range(30)]
    assert np.median(bad) > 2 * max(1, np.median(good))
