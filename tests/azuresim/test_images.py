"""The generated casting images: deterministic, valid, and visibly different when defective."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image

from azuresim.images import (
    Box,
    casting,
    casting_image,
    defect_box,
    image_size,
    labelled_castings,
    magic_format,
    misplaced_box,
)


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


def _dark_mask(data: bytes) -> np.ndarray:
    a = np.asarray(Image.open(io.BytesIO(data)).convert("L"), dtype=np.float32)
    p = np.pad(a, 3, mode="edge")
    local = sum(p[dy:dy + 64, dx:dx + 64] for dy in range(7) for dx in range(7)) / 49
    return ((a - local) < -30) & (local > 60)


def test_defective_parts_carry_more_dark_flaws():
    good = [_dark_pixels_on_part(casting_image(False, i)) for i in range(30)]
    bad = [_dark_pixels_on_part(casting_image(True, i)) for i in range(30)]
    assert np.median(bad) > 1.4 * max(1, np.median(good))


def _inside(box: Box) -> np.ndarray:
    ys, xs = np.mgrid[0:64, 0:64] + 0.5
    return ((xs >= box.left * 64) & (xs <= (box.left + box.width) * 64)
            & (ys >= box.top * 64) & (ys <= (box.top + box.height) * 64))


def test_the_flaw_lies_in_its_box():
    """Dark flaws concentrate in the reported box: much denser there than anywhere else on the image."""
    denser = 0
    for c in labelled_castings(range(40)):
        assert c.defective and c.box is not None and c.box == defect_box(c.index)
        assert c.box.left >= 0 and c.box.left + c.box.width <= 1 and c.box.top >= 0 and c.box.top + c.box.height <= 1
        assert 0.03 < c.box.width < 0.5 and 0.03 < c.box.height < 0.5
        dark, inside = _dark_mask(c.data), _inside(c.box)
        if dark[inside].mean() > 2 * max(dark[~inside].mean(), 1e-3):
            denser += 1
    assert denser >= 36  # the hard ones (a single faint pit) may not stand out
    assert all(c.box is None for c in labelled_castings(range(5), defective=False))
    assert casting(True, 7).data == casting_image(True, 7)


def test_misplaced_boxes_miss_the_flaw():
    for i in range(30):
        right, wrong = defect_box(i), misplaced_box(i)
        assert (wrong.width, wrong.height) == (right.width, right.height)
        assert right.iou(wrong) < 0.1
    assert Box(0, 0, 0.5, 0.5).iou(Box(0.25, 0, 0.5, 0.5)) == 1 / 3
