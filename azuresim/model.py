"""The simulator's tiny real image classifier: hand-made features and distance-weighted k-nearest neighbours.

It is small enough to train in milliseconds on a few thousand images, yet its numbers come from the
data: performance figures are measured on held-out images (leave-one-out), so a badly tagged data set
scores badly, and a training image predicts its own tag with high probability.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from PIL import Image

GRID = 64  # images are compared as GRID x GRID grayscale
K = 7  # neighbours that vote
_DARK = (0.03, 0.06, 0.09, 0.12, 0.16, 0.20, 0.25)  # thresholds for "darker than its surroundings"
_BRIGHT = (0.06, 0.12)
# Standardised features are weighted so dark detail (pits, cracks) counts most and lighting least.
WEIGHTS = np.array([1.0] * len(_DARK) + [0.5] * len(_BRIGHT) + [0.6, 0.3, 0.3], dtype=np.float64)


def features(data: bytes) -> np.ndarray:
    """A fixed-length feature vector of an encoded image (raises ``ValueError`` if it cannot be decoded).

    Texture statistics (how much dark, sharp detail there is, wherever it is) dominate, so a pit or a
    crack counts the same anywhere on the part; overall brightness and contrast add the general look.
    """
    try:
        with Image.open(io.BytesIO(data)) as img:
            gray = img.convert("L").resize((GRID, GRID), Image.Resampling.BILINEAR)
    except Exception as exc:  # Pillow raises many types for bad input
        raise ValueError(f"not a readable image: {exc}") from exc
    a = np.asarray(gray, dtype=np.float32) / 255.0
    padded = np.pad(a, 2, mode="edge")
    # Local mean over a 5x5 window: a pit is much darker than its neighbourhood.
    blur = sum(padded[dy:dy + GRID, dx:dx + GRID] for dy in range(5) for dx in range(5)) / 25.0
    residual = a - blur
    n = float(residual.size)
    dark = [np.log1p((residual < -t).sum()) for t in _DARK]
    bright = [np.log1p((residual > t).sum()) for t in _BRIGHT]
    edges = np.log1p((np.abs(residual) > 0.05).sum() / n * 1000)
    return np.array(dark + bright + [edges, a.mean(), a.std()], dtype=np.float32)


@dataclass
class Performance:
    """Held-out figures of one tag, or of the whole model (then ``tag`` is None)."""

    tag: str | None
    precision: float
    precision_std: float
    recall: float
    recall_std: float
    average_precision: float


class Model:
    """k-NN over standardised features. ``labels[i]`` is the set of tag ids of training image ``i``.

    ``multiclass`` makes probabilities a distribution over tags (they sum to 1); otherwise each tag's
    probability is the weighted share of neighbours carrying it.
    """

    def __init__(self, feats: Sequence[np.ndarray], labels: Sequence[set[str]], tags: Sequence[str],
                 multiclass: bool = True) -> None:
        if not len(feats):
            raise ValueError("a model needs at least one training image")
        self.tags = list(tags)
        self.multiclass = multiclass
        x = np.vstack(feats).astype(np.float64)
        self.mean = x.mean(axis=0)
        self.scale = x.std(axis=0) + 1e-6
        self.x = (x - self.mean) / self.scale * WEIGHTS
        self.y = np.array([[t in lab for t in self.tags] for lab in labels], dtype=np.float64).reshape(
            len(labels), len(self.tags))
        self._held_out: np.ndarray | None = None

    # -- prediction ----------------------------------------------------------------------------------
    def _probabilities(self, dist: np.ndarray, exclude: int | None = None) -> np.ndarray:
        d = dist.copy()
        if exclude is not None:
            d[exclude] = np.inf
        k = min(K, int(np.isfinite(d).sum()))
        if k == 0:
            return np.full(len(self.tags), 1.0 / max(1, len(self.tags)))
        idx = np.argpartition(d, k - 1)[:k]
        w = 1.0 / (d[idx] + 1e-3) ** 2
        votes = (w[:, None] * self.y[idx]).sum(axis=0) / w.sum()
        # A little smoothing: never claim exactly 0 or 1, as a real classifier's softmax would not.
        if self.multiclass:
            p = votes + 0.002
            return p / p.sum()
        return np.clip(votes, 0.001, 0.999)

    def _distances(self, f: np.ndarray) -> np.ndarray:
        z = (np.asarray(f, dtype=np.float64) - self.mean) / self.scale * WEIGHTS
        return np.sqrt(((self.x - z) ** 2).sum(axis=1))

    def predict(self, f: np.ndarray) -> dict[str, float]:
        """Probability per tag id for one feature vector."""
        p = self._probabilities(self._distances(f))
        return dict(zip(self.tags, (float(v) for v in p), strict=True))

    # -- evaluation ----------------------------------------------------------------------------------
    def held_out(self) -> np.ndarray:
        """Leave-one-out probabilities (images x tags): each image predicted by all the others."""
        if self._held_out is None:
            sq = (self.x ** 2).sum(axis=1)
            dist = np.sqrt(np.maximum(sq[:, None] + sq[None, :] - 2 * self.x @ self.x.T, 0.0))
            self._held_out = np.vstack([self._probabilities(dist[i], exclude=i) for i in range(len(dist))])
        return self._held_out

    def performance(self, threshold: float = 0.5, folds: int = 5) -> tuple[Performance, list[Performance]]:
        """Overall and per-tag precision/recall at ``threshold`` and average precision, all held out.

        The standard deviations are taken over ``folds`` fixed slices of the images (every n-th image).
        """
        p = self.held_out()
        pred = p >= threshold
        truth = self.y > 0.5
        per_tag = []
        for j, tag in enumerate(self.tags):
            prec, rec = _pr(pred[:, j], truth[:, j])
            fold_stats = [_pr(pred[f::folds, j], truth[f::folds, j]) for f in range(min(folds, len(p)))]
            per_tag.append(Performance(
                tag, prec, _std([s[0] for s in fold_stats]), rec, _std([s[1] for s in fold_stats]),
                _average_precision(p[:, j], truth[:, j]),
            ))
        prec, rec = _pr(pred.ravel(), truth.ravel())
        fold_stats = [_pr(pred[f::folds].ravel(), truth[f::folds].ravel()) for f in range(min(folds, len(p)))]
        overall = Performance(
            None, prec, _std([s[0] for s in fold_stats]), rec, _std([s[1] for s in fold_stats]),
            float(np.mean([t.average_precision for t in per_tag])) if per_tag else 0.0,
        )
        return overall, per_tag


def _pr(pred: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    tp = float(np.logical_and(pred, truth).sum())
    precision = tp / float(pred.sum()) if pred.sum() else 0.0
    recall = tp / float(truth.sum()) if truth.sum() else 0.0
    return precision, recall


def _std(values: list[float]) -> float:
    return float(np.std(values)) if len(values) > 1 else 0.0


def _average_precision(scores: np.ndarray, truth: np.ndarray) -> float:
    """Area under the precision-recall curve, ranking images by score (ties broken by position)."""
    positives = int(truth.sum())
    if positives == 0:
        return 0.0
    order = np.argsort(-scores, kind="stable")
    hits = truth[order].astype(np.float64)
    precision_at = np.cumsum(hits) / np.arange(1, len(hits) + 1)
    return float((precision_at * hits).sum() / positives)
