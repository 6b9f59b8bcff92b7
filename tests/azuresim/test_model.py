"""The tiny k-NN model: held-out figures come from the data, and training images predict themselves."""

from __future__ import annotations

import pytest

from azuresim.images import casting_image
from azuresim.model import Model, features


def _castings(n_good: int, n_bad: int):
    feats = [features(casting_image(False, i)) for i in range(n_good)]
    feats += [features(casting_image(True, i)) for i in range(n_bad)]
    labels = [{"ok"}] * n_good + [{"bad"}] * n_bad
    return feats, labels


def test_held_out_performance_is_high_but_not_perfect():
    feats, labels = _castings(100, 150)
    overall, per_tag = Model(feats, labels, ["ok", "bad"]).performance(0.5)
    assert 0.85 <= overall.precision < 1.0 and 0.85 <= overall.recall < 1.0
    assert 0.9 <= overall.average_precision <= 1.0
    assert {t.tag for t in per_tag} == {"ok", "bad"}


def test_random_labels_score_like_chance():
    feats, labels = _castings(60, 60)
    shuffled = [labels[(i * 37) % len(labels)] for i in range(len(labels))]  # deterministic scramble
    overall, _ = Model(feats, shuffled, ["ok", "bad"]).performance(0.5)
    assert overall.precision < 0.75


def test_training_images_and_new_images_are_classified():
    feats, labels = _castings(20, 20)
    model = Model(feats, labels, ["ok", "bad"])
    assert model.predict(feats[0])["ok"] > 0.99
    assert model.predict(feats[25])["bad"] > 0.99
    fresh = [model.predict(features(casting_image(defective, 1000 + i))) for i in range(10)
             for defective in (True, False)]
    right = sum((p["bad"] > p["ok"]) == (k % 2 == 0) for k, p in enumerate(fresh))
    assert right >= 16 and all(sum(p.values()) == pytest.approx(1.0) for p in fresh)


def test_multilabel_probabilities_are_independent():
    feats, _ = _castings(10, 10)
    labels = [{"part"} | ({"bad"} if i >= 10 else set()) for i in range(20)]
    model = Model(feats, labels, ["part", "bad"], multiclass=False)
    p = model.predict(feats[15])
    assert p["part"] > 0.9 and p["bad"] > 0.9


def test_threshold_trades_recall_for_precision_and_bad_input_is_refused():
    feats, labels = _castings(40, 40)
    model = Model(feats, labels, ["ok", "bad"])
    assert model.performance(0.99)[0].recall <= model.performance(0.1)[0].recall
    with pytest.raises(ValueError):
        features(b"not an image")
    with pytest.raises(ValueError):
        Model([], [], ["ok"])
