"""The simulator's tiny real object detector: sliding windows scored by a logistic model per tag.

Every image is read as a GRID x GRID grayscale array. A window's features describe the dark detail in it
(pits and cracks are much darker than their neighbourhood), how much of the dark detail around it the
window contains, and how bright and plain it is; no feature says where the window is, so a detector
learns what a tagged region looks like, never where students tend to draw it. The window shapes
("anchors") are the shapes of the training regions, so boxes drawn badly train a detector that boxes
badly.

    det = Detector.train([TrainingImage(gray(data), [(tag_id, box), ...]), ...], tags)
    det.detect(gray(data))            # [Detection(tag, probability, box)], best first
    det.performance(0.5, 0.3)         # held out: each image scored by a detector trained without it

Performance is measured on held-out images (k folds, each image predicted by a detector trained on the
other folds) and matched to the regions the student drew by intersection over union, as Custom Vision
reports it: per-tag precision and recall at a probability threshold, average precision, and their mean.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image

from ..images import Box

GRID = 64
FOLDS = 3
MAX_ANCHORS = 5
NEGATIVES_PER_IMAGE = 32
MAX_DETECTIONS = 10  # per tag, after non-maximum suppression
MIN_PROBABILITY = 0.01
NMS_IOU = 0.3
_DARK = (0.04, 0.08, 0.14, 0.22)
PART = 0.42  # a 15 x 15 neighbourhood at least this bright is on the part, not the bench


def gray(data: bytes) -> np.ndarray:
    """The image as a GRID x GRID array of floats in [0, 1] (raises ``ValueError`` if unreadable)."""
    try:
        with Image.open(io.BytesIO(data)) as img:
            g = img.convert("L").resize((GRID, GRID), Image.Resampling.BILINEAR)
    except Exception as exc:  # Pillow raises many types for bad input
        raise ValueError(f"not a readable image: {exc}") from exc
    return np.asarray(g, dtype=np.float64) / 255.0


# -- feature maps and windows ----------------------------------------------------------------------
def _integral(m: np.ndarray) -> np.ndarray:
    out = np.zeros((m.shape[0] + 1, m.shape[1] + 1))
    out[1:, 1:] = m.cumsum(0).cumsum(1)
    return out


def _box_mean(a: np.ndarray, k: int) -> np.ndarray:
    """Mean over a k x k neighbourhood (edges repeated)."""
    pad = k // 2
    ii = _integral(np.pad(a, pad, mode="edge"))
    n = a.shape[0]
    return (ii[k:k + n, k:k + n] - ii[:n, k:k + n] - ii[k:k + n, :n] + ii[:n, :n]) / (k * k)


class _Maps:
    """Integral images of the per-pixel maps window features are sums of."""

    def __init__(self, a: np.ndarray) -> None:
        residual = a - _box_mean(a, 7)
        maps = [(residual < -t).astype(np.float64) for t in _DARK]
        maps += [np.clip(-residual, 0, None), (residual > 0.06).astype(np.float64), a, a * a,
                 (a < 0.25).astype(np.float64)]
        self.ii = np.stack([_integral(m) for m in maps])  # maps x (GRID+1) x (GRID+1)
        self.dark = maps[1]

    def sums(self, x0, y0, x1, y1) -> np.ndarray:
        """Per map, the sum over each window [x0, x1) x [y0, y1): maps x windows."""
        ii = self.ii
        return ii[:, y1, x1] - ii[:, y0, x1] - ii[:, y1, x0] + ii[:, y0, x0]


def _features(maps: _Maps, win: np.ndarray) -> np.ndarray:
    """Features of windows ``win`` (n x 4 ints: x0, y0, x1, y1): n x features."""
    x0, y0, x1, y1 = win.T
    area = ((x1 - x0) * (y1 - y0)).astype(np.float64)
    inside = maps.sums(x0, y0, x1, y1) / area
    # The surroundings: the window grown by half its size on each side (clipped to the image).
    gx, gy = np.maximum((x1 - x0) // 2, 2), np.maximum((y1 - y0) // 2, 2)
    bx0, by0 = np.clip(x0 - gx, 0, GRID), np.clip(y0 - gy, 0, GRID)
    bx1, by1 = np.clip(x1 + gx, 0, GRID), np.clip(y1 + gy, 0, GRID)
    big_area = ((bx1 - bx0) * (by1 - by0)).astype(np.float64)
    big = maps.sums(bx0, by0, bx1, by1)
    ring_area = np.maximum(big_area - area, 1.0)
    ring = (big - inside * area) / ring_area
    dark_in, dark_big = inside[1] * area, big[1]
    contained = dark_in / (dark_big + 1.0)  # share of the nearby dark detail the window holds
    std = np.sqrt(np.maximum(inside[6] - inside[5] ** 2, 0.0))
    w, h = (x1 - x0).astype(np.float64), (y1 - y0).astype(np.float64)
    cols = [*inside[:5], inside[5], std, inside[7], inside[8],
            inside[1] - ring[1], inside[4] - ring[4], ring[5] - inside[5], ring[8],
            contained, np.log(dark_in + 1.0), np.log(w), np.log(h)]
    return np.stack(cols, axis=1)


def _windows(anchors: Sequence[tuple[int, int]]) -> np.ndarray:
    """Every placement of every anchor on the grid, a stride of a third of its shorter side."""
    out = []
    for w, h in anchors:
        step = max(1, min(w, h) // 3)
        xs = np.arange(0, GRID - w + 1, step)
        ys = np.arange(0, GRID - h + 1, step)
        gx, gy = np.meshgrid(xs, ys)
        x0, y0 = gx.ravel(), gy.ravel()
        out.append(np.stack([x0, y0, x0 + w, y0 + h], axis=1))
    return np.vstack(out).astype(np.int64)


def _pixels(box: Box) -> np.ndarray:
    x0 = int(np.clip(round(box.left * GRID), 0, GRID - 1))
    y0 = int(np.clip(round(box.top * GRID), 0, GRID - 1))
    x1 = int(np.clip(round((box.left + box.width) * GRID), x0 + 1, GRID))
    y1 = int(np.clip(round((box.top + box.height) * GRID), y0 + 1, GRID))
    return np.array([x0, y0, x1, y1], dtype=np.int64)


def _box(win: np.ndarray) -> Box:
    x0, y0, x1, y1 = (float(v) / GRID for v in win)
    return Box(round(x0, 6), round(y0, 6), round(x1 - x0, 6), round(y1 - y0, 6))


def _ious(win: np.ndarray, one: np.ndarray) -> np.ndarray:
    """IoU of each window (n x 4) with one box (4,)."""
    ix = np.clip(np.minimum(win[:, 2], one[2]) - np.maximum(win[:, 0], one[0]), 0, None)
    iy = np.clip(np.minimum(win[:, 3], one[3]) - np.maximum(win[:, 1], one[1]), 0, None)
    inter = ix * iy
    areas = (win[:, 2] - win[:, 0]) * (win[:, 3] - win[:, 1])
    return inter / (areas + (one[2] - one[0]) * (one[3] - one[1]) - inter)


def _covered(win: np.ndarray, one: np.ndarray) -> np.ndarray:
    """Intersection of each window with ``one`` over the smaller of the two areas."""
    ix = np.clip(np.minimum(win[:, 2], one[2]) - np.maximum(win[:, 0], one[0]), 0, None)
    iy = np.clip(np.minimum(win[:, 3], one[3]) - np.maximum(win[:, 1], one[1]), 0, None)
    areas = (win[:, 2] - win[:, 0]) * (win[:, 3] - win[:, 1])
    return ix * iy / np.minimum(areas, (one[2] - one[0]) * (one[3] - one[1]))


def _anchors(boxes: Sequence[np.ndarray]) -> list[tuple[int, int]]:
    """Up to MAX_ANCHORS window shapes that sum up the training regions' shapes (a few rounds of k-means)."""
    wh = np.array([(b[2] - b[0], b[3] - b[1]) for b in boxes], dtype=np.float64)
    k = min(MAX_ANCHORS, len(np.unique(wh, axis=0)))
    order = np.argsort(wh[:, 0] * wh[:, 1], kind="stable")
    centres = wh[order[np.linspace(0, len(wh) - 1, k).round().astype(int)]]
    for _ in range(8):
        nearest = ((wh[:, None, :] - centres[None]) ** 2).sum(-1).argmin(1)
        centres = np.array([wh[nearest == j].mean(0) if (nearest == j).any() else centres[j] for j in range(k)])
    shapes = {(int(np.clip(round(w), 2, GRID)), int(np.clip(round(h), 2, GRID))) for w, h in centres}
    return sorted(shapes)


# -- the logistic model ----------------------------------------------------------------------------
@dataclass
class _Logistic:
    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray

    @classmethod
    def fit(cls, x: np.ndarray, y: np.ndarray, weight: np.ndarray, l2: float = 1.0, rounds: int = 12) -> _Logistic:
        """Weighted, L2-regularised logistic regression by Newton's method."""
        mean, scale = x.mean(0), x.std(0) + 1e-6
        z = cls._expand((x - mean) / scale)
        sw = weight * len(y) / weight.sum()
        w = np.zeros(z.shape[1])
        reg = np.full(z.shape[1], l2)
        reg[0] = 0.0  # no penalty on the intercept
        for _ in range(rounds):
            p = 1.0 / (1.0 + np.exp(-np.clip(z @ w, -30, 30)))
            grad = z.T @ (sw * (p - y)) + reg * w
            hess = (z.T * (sw * p * (1 - p))) @ z + np.diag(reg + 1e-6)
            step = np.linalg.solve(hess, grad)
            w -= step
            if np.abs(step).max() < 1e-3:
                break
        return cls(mean, scale, w)

    @staticmethod
    def _expand(z: np.ndarray) -> np.ndarray:
        return np.hstack([np.ones((len(z), 1)), z, z ** 2 / 4])

    def probability(self, x: np.ndarray) -> np.ndarray:
        z = self._expand((x - self.mean) / self.scale)
        return 1.0 / (1.0 + np.exp(-np.clip(z @ self.weights, -30, 30)))


# -- training data, detections and the detector ---------------------------------------------------
@dataclass
class TrainingImage:
    """One training image as the detector sees it: its pixels and its regions (tag id, box)."""

    pixels: np.ndarray
    regions: list[tuple[str, Box]]


@dataclass(frozen=True)
class Detection:
    tag: str
    probability: float
    box: Box


@dataclass
class TagPerformance:
    """Held-out figures of one tag, or of the whole detector (then ``tag`` is None; average precision is
    the mean over tags: mAP)."""

    tag: str | None
    precision: float
    precision_std: float
    recall: float
    recall_std: float
    average_precision: float


@dataclass
class _TagModel:
    anchors: list[tuple[int, int]]
    windows: np.ndarray
    logistic: _Logistic


class Detector:
    """One sliding-window logistic model per tag."""

    def __init__(self, images: Sequence[TrainingImage], tags: Sequence[str], models: dict[str, _TagModel]) -> None:
        self.images = list(images)
        self.tags = list(tags)
        self.models = models
        self._held_out: list[list[Detection]] | None = None
        self._evaluating = threading.Lock()

    def __getstate__(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k != "_evaluating"}

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._evaluating = threading.Lock()

    @classmethod
    def train(cls, images: Sequence[TrainingImage], tags: Sequence[str], seed: int = 0) -> Detector:
        """Fit a detector on ``images`` (each with at least one region) for ``tags``."""
        maps = [_Maps(img.pixels) for img in images]
        rng = np.random.default_rng(seed)
        models = {}
        for tag in tags:
            boxes = [_pixels(b) for img in images for t, b in img.regions if t == tag]
            if not boxes:
                continue
            anchors = _anchors(boxes)
            windows = _windows(anchors)
            xs, ys, ws = [], [], []
            for img, m in zip(images, maps, strict=True):
                mine = [_pixels(b) for t, b in img.regions if t == tag]
                every = [_pixels(b) for _t, b in img.regions]
                best_any = np.max([_ious(windows, b) for b in every], axis=0) if every else np.zeros(len(windows))
                best_mine = np.max([_ious(windows, b) for b in mine], axis=0) if mine else np.zeros(len(windows))
                pos = [np.array(mine)] if mine else []
                near = np.flatnonzero(best_mine >= 0.6)
                if len(near):
                    pos.append(windows[rng.choice(near, size=min(4 * len(mine), len(near)), replace=False)])
                far = np.flatnonzero(best_any < 0.25)
                if pos:
                    win = np.vstack(pos)
                    xs.append(_features(m, win))
                    ys.append(np.ones(len(win)))
                    ws.append(np.ones(len(win)))
                if len(far):
                    # The darkest background windows (edges, dust) teach the most; the rest are sampled,
                    # each standing for the windows not drawn, so probabilities keep the real odds.
                    f = _features(m, windows[far])
                    ranked = np.argsort(-f[:, 1], kind="stable")
                    hard, rest = ranked[:NEGATIVES_PER_IMAGE // 3], ranked[NEGATIVES_PER_IMAGE // 3:]
                    easy = rng.choice(rest, size=min(NEGATIVES_PER_IMAGE - len(hard), len(rest)), replace=False)
                    xs.append(np.vstack([f[hard], f[easy]]))
                    ys.append(np.zeros(len(hard) + len(easy)))
                    stands_for = (len(rest) / max(1, len(easy))) ** 0.75
                    ws.append(np.concatenate([np.ones(len(hard)), np.full(len(easy), stands_for)]))
            x, y, wt = np.vstack(xs), np.concatenate(ys), np.concatenate(ws)
            models[tag] = _TagModel(anchors, windows, _Logistic.fit(x, y, wt))
        return cls(images, tags, models)

    # -- prediction --------------------------------------------------------------------------------
    def detect(self, pixels: np.ndarray) -> list[Detection]:
        """Detections in one image, highest probability first."""
        maps = _Maps(pixels)
        out: list[Detection] = []
        for tag, model in self.models.items():
            p = model.logistic.probability(_features(maps, model.windows))
            out += [Detection(tag, prob, box) for prob, box in _suppress(model.windows, p)]
        out.sort(key=lambda d: -d.probability)
        return out

    # -- evaluation --------------------------------------------------------------------------------
    def held_out(self) -> list[list[Detection]]:
        """Detections of each training image by a detector trained on the other folds (computed once, on
        the first performance question: concurrent questions wait for that one computation)."""
        with self._evaluating:
            return self._compute_held_out()

    def _compute_held_out(self) -> list[list[Detection]]:
        if self._held_out is None:
            n = len(self.images)
            folds = min(FOLDS, n)
            found: list[list[Detection]] = [[] for _ in range(n)]
            for f in range(folds):
                test = [i for i in range(n) if i % folds == f]
                train = [self.images[i] for i in range(n) if i % folds != f]
                if not train:
                    continue
                det = Detector.train(train, self.tags, seed=f + 1)
                for i in test:
                    found[i] = det.detect(self.images[i].pixels)
            self._held_out = found
        return self._held_out

    def performance(self, threshold: float = 0.5, overlap: float = 0.3) -> tuple[TagPerformance, list[TagPerformance]]:
        """Overall and per-tag held-out precision and recall at ``threshold``, and average precision,
        a detection counting as right when its box overlaps an unclaimed region of its tag by at least
        ``overlap`` (IoU). Standard deviations are over the folds."""
        found = self.held_out()
        folds = min(FOLDS, len(self.images))
        per_tag = []
        pooled = _Counts()
        fold_counts = [_Counts() for _ in range(folds)]
        for tag in self.tags:
            counts = _Counts()
            tag_folds = [_Counts() for _ in range(folds)]
            ranked: list[tuple[float, bool]] = []
            positives = 0
            for i, img in enumerate(self.images):
                truth = [_pixels(b) for t, b in img.regions if t == tag]
                positives += len(truth)
                dets = [d for d in found[i] if d.tag == tag]
                hits = _match(dets, truth, overlap)
                ranked += [(d.probability, hit) for d, hit in zip(dets, hits, strict=True)]
                kept = [hit for d, hit in zip(dets, hits, strict=True) if d.probability >= threshold]
                c = _Counts(sum(kept), len(kept), len(truth))
                for bucket in (counts, tag_folds[i % folds], pooled, fold_counts[i % folds]):
                    bucket.add(c)
            per_tag.append(TagPerformance(tag, counts.precision, _std([c.precision for c in tag_folds]),
                                          counts.recall, _std([c.recall for c in tag_folds]),
                                          _average_precision(ranked, positives)))
        overall = TagPerformance(None, pooled.precision, _std([c.precision for c in fold_counts]),
                                 pooled.recall, _std([c.recall for c in fold_counts]),
                                 float(np.mean([t.average_precision for t in per_tag])) if per_tag else 0.0)
        return overall, per_tag


def _suppress(windows: np.ndarray, p: np.ndarray) -> list[tuple[float, Box]]:
    """Non-maximum suppression; each kept box is the probability-weighted mean of the strong windows
    overlapping it (box voting), which places it better than any single window of the grid."""
    order = np.argsort(-p, kind="stable")
    alive = np.ones(len(p), dtype=bool)
    kept = []
    for i in order:
        if len(kept) >= MAX_DETECTIONS or p[i] < MIN_PROBABILITY:
            break
        if not alive[i]:
            continue
        ious = _ious(windows, windows[i])
        group = (ious >= 0.5) & (p >= 0.5 * p[i])
        wts = p[group]
        voted = (windows[group] * wts[:, None]).sum(0) / wts.sum()
        kept.append((round(float(p[i]), 6), _box(voted)))
        # Suppress what overlaps the kept box, and what lies mostly inside it or around it (a part of the
        # same flaw, or the flaw with its surroundings).
        alive &= (ious < NMS_IOU) & (_covered(windows, windows[i]) < 0.5)
    return kept


@dataclass
class _Counts:
    true_positives: int = 0
    predicted: int = 0
    actual: int = 0

    def add(self, other: _Counts) -> None:
        self.true_positives += other.true_positives
        self.predicted += other.predicted
        self.actual += other.actual

    @property
    def precision(self) -> float:
        return self.true_positives / self.predicted if self.predicted else 0.0

    @property
    def recall(self) -> float:
        return self.true_positives / self.actual if self.actual else 0.0


def _match(dets: list[Detection], truth: list[np.ndarray], overlap: float) -> list[bool]:
    """Whether each detection (best first) claims a region not claimed before with IoU >= ``overlap``."""
    claimed = [False] * len(truth)
    hits = []
    for d in dets:
        win = _pixels(d.box)[None]
        best, at = 0.0, -1
        for j, t in enumerate(truth):
            iou = float(_ious(win, t)[0])
            if not claimed[j] and iou > best:
                best, at = iou, j
        hit = at >= 0 and best >= overlap
        if hit:
            claimed[at] = True
        hits.append(hit)
    return hits


def _average_precision(ranked: list[tuple[float, bool]], positives: int) -> float:
    """Area under the precision-recall curve, precision made monotone (all-point interpolation)."""
    if positives == 0:
        return 0.0
    ranked = sorted(ranked, key=lambda r: -r[0])
    hits = np.array([h for _p, h in ranked], dtype=np.float64)
    if not len(hits):
        return 0.0
    tp = np.cumsum(hits)
    precision = tp / np.arange(1, len(hits) + 1)
    recall = tp / positives
    precision = np.maximum.accumulate(precision[::-1])[::-1]
    previous = np.concatenate([[0.0], recall[:-1]])
    return float(((recall - previous) * precision).sum())


def _std(values: list[float]) -> float:
    return float(np.std(values)) if len(values) > 1 else 0.0


# -- region proposals ------------------------------------------------------------------------------
def proposals(pixels: np.ndarray, limit: int = 10) -> list[tuple[float, Box]]:
    """Boxes around patches of dark detail, with a confidence, for any image (no training needed):
    what the portal offers as suggested regions. Best first."""
    # Only detail on the part counts: along the rim the bench is darker than its neighbourhood too.
    residual = np.where(_box_mean(pixels, 15) > PART, pixels - _box_mean(pixels, 7), 0.0)
    mask = residual < -0.15
    # Join detail a couple of pixels apart into one patch.
    grown = _box_mean(mask.astype(np.float64), 5) > 0
    labels = _components(grown)
    out = []
    for k in range(1, labels.max() + 1):
        ys, xs = np.nonzero((labels == k) & mask)
        if len(xs) < 2:
            continue
        strength = float(np.clip(-residual[ys, xs], 0, None).sum())
        x0, y0 = max(int(xs.min()) - 1, 0), max(int(ys.min()) - 1, 0)
        x1, y1 = min(int(xs.max()) + 2, GRID), min(int(ys.max()) + 2, GRID)
        # Long thin patches and sparse outlines are edges (the rim, the machined ring), not flaws.
        elongation = max(x1 - x0, y1 - y0) / max(1, min(x1 - x0, y1 - y0))
        fill = len(xs) / float((x1 - x0) * (y1 - y0))
        confidence = (1.0 - np.exp(-strength / 3.0)) / elongation * min(1.0, fill / 0.2)
        out.append((round(float(confidence), 6), _box(np.array([x0, y0, x1, y1]))))
    out.sort(key=lambda c: -c[0])
    return out[:limit]


def _components(mask: np.ndarray) -> np.ndarray:
    """4-connected components of a boolean mask, labelled 1..n (0: background)."""
    labels = np.zeros(mask.shape, dtype=np.int64)
    n = 0
    h, w = mask.shape
    for y0, x0 in zip(*np.nonzero(mask), strict=True):
        if labels[y0, x0]:
            continue
        n += 1
        labels[y0, x0] = n
        stack = [(y0, x0)]
        while stack:
            y, x = stack.pop()
            for ny, nx in ((y - 1, x), (y + 1, x), (y, x - 1), (y, x + 1)):
                if 0 <= ny < h and 0 <= nx < w and mask[ny, nx] and not labels[ny, nx]:
                    labels[ny, nx] = n
                    stack.append((ny, nx))
    return labels
