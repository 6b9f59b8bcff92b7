"""Generated sample images: small, deterministic pictures of cast metal parts, good or defective.

``casting_image(defective, index)`` draws a top view of a round casting (a disc with a hub and a rim) on
a dark bench. Good parts are smooth; a defective one carries one flaw in one place: a patch of dark
blow-holes, perhaps with a crack running out of it, sometimes at a ragged stretch of rim. Each index
varies position, size, lighting and noise, and a few indexes are deliberately hard (a single small pit,
a dusty good part), so a model trained on them scores high but not perfectly.

The simulator knows where each flaw is: ``casting(True, index).box`` (also :func:`defect_box`) is the
box around it, in Custom Vision's region coordinates (fractions of the image). That is the ground truth
for object detection: what a careful student draws, what quick tests are judged against.
"""

from __future__ import annotations

import io
import math
import random
from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

SIZE = 64
PIT_MIN, PIT_MAX = 1.0, 2.2

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


@dataclass(frozen=True)
class Box:
    """A rectangle as Custom Vision states regions: fractions of the image's width and height."""

    left: float
    top: float
    width: float
    height: float

    def iou(self, other: Box) -> float:
        """Intersection over union with ``other`` (0 when they do not overlap)."""
        ix = max(0.0, min(self.left + self.width, other.left + other.width) - max(self.left, other.left))
        iy = max(0.0, min(self.top + self.height, other.top + other.height) - max(self.top, other.top))
        inter = ix * iy
        union = self.width * self.height + other.width * other.height - inter
        return inter / union if union > 0 else 0.0


@dataclass(frozen=True)
class Casting:
    """One generated casting: its encoded bytes and, for a defective part, the box around its flaw."""

    defective: bool
    index: int
    data: bytes
    box: Box | None


@dataclass
class _Part:
    """Where the part and its flaw sit, decided before anything is drawn."""

    cx: float
    cy: float
    radius: float
    flaw: tuple[float, float]  # the flaw's centre (pixels)
    marks: list[tuple[float, float, float, float]] = field(default_factory=list)  # drawn flaw extents

    def box(self) -> Box:
        """The flaw's box: every mark it drew, plus a pixel of margin, as fractions of the image."""
        x0 = max(0.0, min(m[0] for m in self.marks) - 1)
        y0 = max(0.0, min(m[1] for m in self.marks) - 1)
        x1 = min(float(SIZE), max(m[2] for m in self.marks) + 1)
        y1 = min(float(SIZE), max(m[3] for m in self.marks) + 1)
        return Box(round(x0 / SIZE, 4), round(y0 / SIZE, 4), round((x1 - x0) / SIZE, 4), round((y1 - y0) / SIZE, 4))


def casting_image(defective: bool, index: int, fmt: str = "JPEG") -> bytes:
    """Encoded bytes (JPEG or PNG) of casting number ``index``, defective or not."""
    return casting(defective, index, fmt).data


def defect_box(index: int) -> Box:
    """Where defective casting ``index`` has its flaw (the box :func:`casting` reports for it)."""
    box = casting(True, index, "PNG").box
    assert box is not None
    return box


def misplaced_box(index: int) -> Box:
    """A box the size of defective casting ``index``'s flaw on clean metal across the part from it:
    what a student draws when the box misses the defect."""
    part = _draw(True, index)[1]
    box = part.box()
    fx, fy = part.flaw
    # Mirror the flaw's centre through the part's centre: the far side of the same part.
    mx, my = 2 * part.cx - fx, 2 * part.cy - fy
    left = min(max(mx / SIZE - box.width / 2, 0.0), 1.0 - box.width)
    top = min(max(my / SIZE - box.height / 2, 0.0), 1.0 - box.height)
    return Box(round(left, 4), round(top, 4), box.width, box.height)


def labelled_castings(indexes: range | list[int], defective: bool = True, fmt: str = "JPEG") -> list[Casting]:
    """Generated castings with their ground truth (``box`` is None for good parts): a labelled test set."""
    return [casting(defective, i, fmt) for i in indexes]


def casting(defective: bool, index: int, fmt: str = "JPEG") -> Casting:
    """Casting number ``index`` with its flaw's box (None for a good part)."""
    rgb, part = _draw(defective, index)
    out = io.BytesIO()
    if fmt.upper() == "PNG":
        rgb.save(out, "PNG")
    else:
        rgb.save(out, "JPEG", quality=88)
    return Casting(defective, index, out.getvalue(), part.box() if defective else None)


def _draw(defective: bool, index: int) -> tuple[Image.Image, _Part]:
    rnd = _rng(defective, index)
    bench = rnd.randint(18, 40)
    img = Image.new("L", (SIZE, SIZE), bench)
    draw = ImageDraw.Draw(img)

    cx = SIZE / 2 + rnd.uniform(-4, 4)
    cy = SIZE / 2 + rnd.uniform(-4, 4)
    radius = rnd.uniform(22, 27)
    metal = rnd.randint(140, 185)
    hub = radius * 0.28

    # The flaw's site comes from a stream of its own, so the part's look (size, lighting, number and
    # size of pits) is what it always was; only where the flaw sits is new.
    site = random.Random(index * 104_729 + 3)
    ragged = defective and rnd.random() < 0.35
    theta = site.uniform(0, 2 * math.pi)
    # A ragged rim flaws the rim, so its pits sit near it; other flaws sit anywhere on the metal.
    reach = radius - 8 if ragged else site.uniform(hub + 5, radius - 8)
    fx, fy = cx + reach * math.cos(theta), cy + reach * math.sin(theta)
    part = _Part(cx, cy, radius, (fx, fy))

    # Rim: a smooth circle for good parts; a defective one may have a ragged stretch near its flaw.
    points = []
    for k in range(72):
        angle = 2 * math.pi * k / 72
        dev = rnd.uniform(-3.0, 1.5) if ragged else 0.0
        near = abs((angle - theta + math.pi) % (2 * math.pi) - math.pi) < 0.4
        r = radius + (dev if near else 0.0)
        x, y = cx + r * math.cos(angle), cy + r * math.sin(angle)
        points.append((x, y))
        if ragged and near:
            part.marks.append((x, y, x, y))
    draw.polygon(points, fill=metal)
    # Machined ring and hub: the same on every part.
    ring = radius * 0.72
    draw.ellipse((cx - ring, cy - ring, cx + ring, cy + ring), outline=metal - 25, width=2)
    draw.ellipse((cx - hub, cy - hub, cx + hub, cy + hub), fill=metal + 20, outline=metal - 40)

    if defective:
        hard = rnd.random() < 0.12  # a barely visible flaw: one small pit
        n_pits = 1 if hard else rnd.randint(3 if ragged else 4, 8)
        spread = 0.0 if hard else 8.0
        start = site.uniform(0, 2 * math.pi)
        for k in range(n_pits):
            # Pits spread round the flaw's centre, each in a sector of its own, so they seldom merge.
            a = start + 2 * math.pi * (k + 0.4 * rnd.uniform(0, 2 * math.pi) / math.pi) / n_pits
            d = rnd.uniform(hub + 2, radius - 3)
            off = spread * (0.45 + 0.55 * (d - hub - 2) / max(1e-6, radius - 5 - hub))
            px, py = fx + off * math.cos(a), fy + off * math.sin(a)
            pr = rnd.uniform(0.8, 1.4) if hard else rnd.uniform(PIT_MIN, PIT_MAX)
            dist, room = math.hypot(px - cx, py - cy), radius - 1.5 - pr
            if dist > room:  # keep every pit on the metal, where it shows
                px, py = cx + (px - cx) * room / dist, cy + (py - cy) * room / dist
            draw.ellipse((px - pr, py - pr, px + pr, py + pr), fill=rnd.randint(10, 60))
            part.marks.append((px - pr, py - pr, px + pr, py + pr))
        if not hard and rnd.random() < 0.45:
            a = rnd.uniform(0, 2 * math.pi)
            x, y = fx, fy  # the crack runs out of the pitted patch
            for _ in range(rnd.randint(4, 8)):
                a += rnd.uniform(-0.6, 0.6)
                nx, ny = x + 2.2 * math.cos(a), y + 2.2 * math.sin(a)
                draw.line((x, y, nx, ny), fill=rnd.randint(20, 60), width=1)
                part.marks.append((min(x, nx), min(y, ny), max(x, nx), max(y, ny)))
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
    return rgb, part
