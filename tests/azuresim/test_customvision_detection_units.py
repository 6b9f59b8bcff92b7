"""The detector and the detection data on their own: scoring rules, the training hand-over, persistence."""

from __future__ import annotations

import pickle
from datetime import timedelta

import pytest

from azuresim.customvision import detector
from azuresim.customvision.detector import Detection, Detector, TrainingImage, gray
from azuresim.customvision.store import Iteration, Project, Region, StoredImage, Tag
from azuresim.images import Box, casting, labelled_castings
from azuresim.model import features
from azuresim.state import utcnow

OD_COMPACT = "a27d5ca5-bb19-49d8-a70a-fec086c47f5b"


def _truth(*boxes: Box):
    return [detector._pixels(b) for b in boxes]


def test_matching_claims_each_region_once_at_the_overlap_asked():
    truth = _truth(Box(0.0, 0.0, 0.5, 0.5))
    near = Detection("d", 0.9, Box(0.1, 0.0, 0.5, 0.5))  # IoU 0.67
    again = Detection("d", 0.8, Box(0.0, 0.0, 0.5, 0.5))  # a second box on a region already claimed
    assert detector._match([near, again], truth, 0.5) == [True, False]
    assert detector._match([near], truth, 0.7) == [False]


def test_average_precision_follows_the_ranking():
    assert detector._average_precision([(0.9, True), (0.8, True), (0.1, False)], 2) == pytest.approx(1.0)
    assert detector._average_precision([(0.9, False), (0.8, True)], 1) == pytest.approx(0.5)
    assert detector._average_precision([(0.9, True)], 2) == pytest.approx(0.5)  # one region never found
    assert detector._average_precision([(0.9, False)], 1) == 0.0
    assert detector._average_precision([], 0) == 0.0


def test_a_detector_finds_flaws_it_never_saw_and_little_on_good_parts():
    det = Detector.train([TrainingImage(gray(c.data), [("d", c.box)]) for c in labelled_castings(range(30))], ["d"])
    hits = 0
    for c in labelled_castings(range(600, 620)):
        found = det.detect(gray(c.data))
        assert [d.probability for d in found] == sorted((d.probability for d in found), reverse=True)
        hits += bool(found) and found[0].box.iou(c.box) >= 0.3
    assert hits >= 16
    good = [det.detect(gray(casting(False, i).data)) for i in range(600, 620)]
    flawed = [det.detect(gray(c.data)) for c in labelled_castings(range(600, 620))]
    assert sorted(f[0].probability for f in flawed)[10] > sorted(g[0].probability for g in good)[10]


def _project_with_regions(n: int) -> Project:
    proj = Project("p", "Flaws", None, OD_COMPACT, None, [])
    proj.tags["t"] = Tag("t", "Defect", None)
    for c in labelled_castings(range(n)):
        img = StoredImage(f"i{c.index}", c.data, f"h{c.index}", 64, 64, features(c.data))
        b = c.box
        img.regions["r" + img.id] = Region("r" + img.id, "t", b.left, b.top, b.width, b.height)
        proj.images[img.id] = img
    return proj


def test_an_iteration_reads_training_until_its_detector_is_handed_over():
    proj = _project_with_regions(15)
    now = utcnow()
    it: Iteration = proj.train(training_type="Regular", budget_hours=0, force=False, now=now, training_seconds=0,
                               fail=False)
    later = now + timedelta(seconds=5)
    assert it.model is None and it.status(later) == "Training"
    it.fit()
    assert isinstance(it.model, Detector) and it.status(later) == "Completed"


def test_detection_data_survives_a_save_and_load():
    proj = _project_with_regions(15)
    it = proj.train(training_type="Regular", budget_hours=0, force=False, now=utcnow(), training_seconds=0, fail=False)
    it.fit()
    img = casting(True, 700)
    before = it.model.detect(gray(img.data))
    copy = pickle.loads(pickle.dumps(proj))
    again = copy.iterations[it.id].model.detect(gray(img.data))
    assert [(d.probability, d.box) for d in again] == [(d.probability, d.box) for d in before]
    assert copy.images["i0"].pixels().shape == (detector.GRID, detector.GRID)
    # State saved before regions existed loads with none.
    old = StoredImage("x", img.data, "h", 64, 64, features(img.data))
    state = old.__getstate__()
    del state["regions"]
    fresh = StoredImage.__new__(StoredImage)
    fresh.__setstate__(state)
    assert fresh.regions == {} and not fresh.tagged
