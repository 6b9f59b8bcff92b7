"""Object Detection: regions drawn on the training images, the detector's mAP, and a Quick Test that finds the
defect where it really is.

Regions are counted from IMAGES (one ``GetImages`` call per 256 images). The true place of the defect in
each of the lab's test images comes from the pack: ``expect["test_images"]`` lists them by SHA-256 of the
file, and PREDICTION_IMAGES gives the digest of the image each stored Quick Test used, so the check knows
which test image the student picked and where its defects are.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from checks import facts as F
from checks.base import Context, check, errored, failed, passed
from checks.expect import INTEGER, NUMBER, TAG, TAG_LIST, TEXT, ExpectationError, Key, KeyType, loose, tag_key
from checks.iterations import evidence as iteration_evidence
from checks.iterations import trained_performance
from checks.outcome import Outcome, Status
from checks.quicktest import QUICK_TESTED, is_running, newest_first, wait_for_retrain
from checks.wording import joined, pct, plural, quoted

OBJECT_DETECTION = "objectdetection"  # a domain's type, folded by loose() without spaces
_DRAW = ("In customvision.ai, open the Training Images tab, select an image, drag a box tightly around each "
         "defect, choose tag '{tag}', and go on to the next image with the arrow")


# -- geometry -------------------------------------------------------------------------------------------

def overlap(a: F.Box, b: F.Box) -> float:
    """Intersection over union of two boxes (0 when they do not touch), as Custom Vision's overlap threshold."""
    w = min(a.left + a.width, b.left + b.width) - max(a.left, b.left)
    h = min(a.top + a.height, b.top + b.height) - max(a.top, b.top)
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    union = a.width * a.height + b.width * b.height - inter
    return inter / union if union > 0 else 0.0


def where(box: F.Box) -> str:
    """"left 12%, top 40%, 20% wide and 15% high": how the message places a box."""
    return f"left {pct(box.left)}, top {pct(box.top)}, {pct(box.width)} wide and {pct(box.height)} high"


# -- regions on the training images ---------------------------------------------------------------------

@dataclass(frozen=True)
class RegionCounts:
    """What IMAGES says about regions: per tag name, how many images have at least one region of it."""

    images: int
    per_tag: Counter
    without_region: int  # images with no region at all
    tagged_without_region: Counter  # tag name -> images carrying it as a whole-image tag, with no region

    @classmethod
    def of(cls, fact: F.ImagesFact) -> RegionCounts:
        per_tag: Counter = Counter()
        bare: Counter = Counter()
        without = 0
        for image in fact.images:
            # Each tag once per image, in the order drawn: a set's order changes with each process's string
            # hashing, and the tags are named in this order (messages, evidence, ties among variants).
            per_tag.update(list(dict.fromkeys(r.tag for r in image.regions)))
            if not image.regions:
                without += 1
                bare.update(list(dict.fromkeys(image.tags)))
        return cls(len(fact.images), per_tag, without, bare)

    def variants(self, want: str) -> list[str]:
        """Region tag names that spell ``want`` (case, spaces, hyphens, quotes aside), exact spelling first."""
        names = [n for n in self.per_tag if tag_key(n) == tag_key(want)]
        return sorted(names, key=lambda n: (n != want, -self.per_tag[n]))


def _project_type(project: F.ProjectFact, domains: Sequence[F.DomainFact]) -> str | None:
    domain = next((d for d in domains if d.id.casefold() == (project.domain_id or "").casefold()), None)
    return loose(domain.type).replace(" ", "") if domain is not None else None


def _not_detection(project: F.ProjectFact, ctx: Context) -> Outcome:
    task = ctx.check_tasks.get("project_type_object_detection")
    where_ = f"as Task {task} describes" if task else "as the lab guide describes"
    return failed(
        f"Project '{project.name}' is a Classification project: regions can only be drawn in an Object "
        "Detection project.",
        f"Create the project again as an Object Detection project, {where_}; then upload the images and draw "
        "the regions there.",
        {"project": project.name}, follows_from="project_type_object_detection",
    )


_FRACTION = {"minimum": 0.0, "maximum": 1.0}


@check("region_image_count", title="Enough images have a region of the lab's tag",
       reads=(F.TRAINING_ACCOUNT, F.PROJECT, F.DOMAINS, F.IMAGES), requires=(F.PROJECT,),
       expects=(
           Key("tag", TAG, "The tag of the regions (boxes) to count.", required=True, example="Defect"),
           Key("min_images", INTEGER, "How many images must have at least one region of the tag.", default=1,
               minimum=1, example=40),
       ))
def region_image_count(facts: F.Snapshot, expect: Mapping[str, Any], ctx: Context) -> Outcome:
    project = facts[F.PROJECT]
    if _project_type(project, facts[F.DOMAINS] or []) not in (None, OBJECT_DETECTION):
        return _not_detection(project, ctx)
    want = expect["tag"]
    need = expect["min_images"]
    fact = facts[F.IMAGES]
    counts = RegionCounts.of(fact)
    variants = counts.variants(want)
    have = sum(counts.per_tag[n] for n in variants)
    ev: dict[str, Any] = {"project": project.name, "expected_tag": want, "min_images": need,
                          "images": counts.images, "images_with_regions": dict(counts.per_tag),
                          "images_without_region": counts.without_region}
    draw = _DRAW.format(tag=want)
    if have >= need:
        advice = []
        if variants and variants[0] != want:
            advice.append(f"The regions are tagged '{variants[0]}'; the lab calls the tag '{want}'. labgrader "
                          "accepts it.")
        return passed(f"Found {plural(have, 'image')} with a '{want}' region in project '{project.name}' (at least "
                      f"{need} needed).", ev, advice)
    if not fact.complete:
        # More images than labgrader reads: the ones it did not read may hold the rest.
        return errored(f"Project '{project.name}' has more images than labgrader reads at once, and the newest "
                       f"{plural(counts.images, 'image')} hold only {have} with a '{want}' region.", evidence=ev)
    if counts.images == 0:
        return failed(f"Project '{project.name}' has no images yet.",
                      f"In customvision.ai, select Add images and upload the lab's casting images, then draw the "
                      f"regions: {draw[0].lower()}{draw[1:]}.", ev)
    others = {n: c for n, c in counts.per_tag.items() if tag_key(n) != tag_key(want)}
    if have == 0 and others:
        found = joined(f"'{n}' ({plural(c, 'image')})" for n, c in others.items())
        if len(others) == 1:
            (name,) = others
            hint = (f"If the boxes of tag '{name}' mark the defects, rename the tag: in customvision.ai, in the "
                    f"Tags list of Training Images, edit tag '{name}' and rename it to '{want}' (its boxes stay). "
                    f"Otherwise: {draw[0].lower()}{draw[1:]}.")
        else:
            hint = f"{draw}."
        return failed(f"Project '{project.name}' has no region tagged '{want}'; its regions are tagged {found}.",
                      hint, ev)
    message = (f"Found {plural(have, 'image')} with a '{want}' region in project '{project.name}'; this lab needs "
               f"at least {need}.")
    bare = counts.tagged_without_region
    bare_want = sum(c for n, c in bare.items() if tag_key(n) == tag_key(want))
    if bare_want:
        message += (f" {plural(bare_want, 'image')} carry tag '{want}' on the whole image, without a box: a "
                    "tag on a whole image does not show where the defect is.")
    if counts.without_region:
        message += (f" {plural(counts.without_region, 'image')} in the project "
                    f"{'has' if counts.without_region == 1 else 'have'} no region yet.")
    more = need - have
    if counts.without_region >= more:
        hint = f"{draw}; draw regions on at least {plural(more, 'more image')}."
    else:
        hint = (f"Upload more of the lab's casting images with Add images, then draw the regions: "
                f"{draw[0].lower()}{draw[1:]}, until at least {need} images have one.")
    return failed(message, hint, ev)


@check("region_tags_only", title="Regions carry only the lab's tags",
       reads=(F.TRAINING_ACCOUNT, F.PROJECT, F.IMAGES), requires=(F.PROJECT,),
       expects=(Key("tags", TAG_LIST, "The lab's region tags; a region of any other tag fails.", required=True,
                    example=["Defect"]),))
def region_tags_only(facts: F.Snapshot, expect: Mapping[str, Any], ctx: Context) -> Outcome:
    """Regions of a tag outside ``expect["tags"]`` FAIL: each tag is learned as an object of its own."""
    project = facts[F.PROJECT]
    known = [str(k) for k in expect["tags"]]
    counts = RegionCounts.of(facts[F.IMAGES])
    keys = {tag_key(k) for k in known}
    other = {n: c for n, c in counts.per_tag.items() if tag_key(n) not in keys}
    ev = {"project": project.name, "lab_tags": known, "images_with_regions": dict(counts.per_tag),
          "other_tags": other}
    lab = quoted(known)
    if not other:
        if not counts.per_tag:
            return passed(f"Project '{project.name}' has no regions of a tag this lab does not use.", ev)
        return passed(f"Every region in project '{project.name}' is tagged {lab}.", ev)
    if not any(tag_key(n) in keys for n in counts.per_tag):
        # No region of the lab's tags at all: region_image_count says what to do with these (rename, redraw).
        return failed(f"Project '{project.name}' has regions only of {quoted(other)}, tags this lab does not use.",
                      f"Tag the defect boxes {lab}, as this task describes.", ev, follows_from="region_image_count")
    names = quoted(other)
    found = joined(f"{plural(c, 'image')} with regions tagged '{n}'" for n, c in other.items())
    return failed(
        f"Project '{project.name}' has {found}; this lab's regions are tagged {lab} only.",
        f"Each tag is learned as an object of its own. In customvision.ai, filter Training Images by {names}, "
        f"open each image, and delete the boxes of {names} (or change their tag to {lab} if they mark a defect); "
        f"then delete {names} in the Tags list.",
        ev,
    )


# -- the detector's performance --------------------------------------------------------------------------

@check("iteration_detection_performance",
       title="The trained iteration meets the lab's precision and mAP floors",
       reads=(F.TRAINING_ACCOUNT, F.PROJECT, F.LATEST_ITERATION, F.TRAINED_ITERATION, F.DETECTION_PERFORMANCE),
       requires=(F.PROJECT,),
       expects=(
           Key("threshold", NUMBER, "The probability threshold performance is read at (the portal's slider, 0.5 "
                                    "by default).", default=0.5, example=0.5, **_FRACTION),
           Key("overlap_threshold", NUMBER, "The overlap (IoU) threshold performance is read at (the portal's "
                                            "slider, 0.3 by default).", default=0.3, example=0.3, **_FRACTION),
           Key("precision_min", NUMBER, "The lowest precision that passes, 0 to 1.", default=0.0, example=0.6,
               **_FRACTION),
           Key("map_min", NUMBER, "The lowest mean average precision (mAP) that passes, 0 to 1.", default=0.0,
               example=0.5, **_FRACTION),
       ))
def iteration_detection_performance(facts: F.Snapshot, expect: Mapping[str, Any], ctx: Context) -> Outcome:
    project, trained, perf, out = trained_performance(facts, F.DETECTION_PERFORMANCE, ctx)
    if out:
        return out
    threshold, overlap_threshold = expect["threshold"], expect["overlap_threshold"]
    if abs(perf.threshold - threshold) > 1e-6 or abs((perf.overlap_threshold or 0.0) - overlap_threshold) > 1e-6:
        return errored(
            f"labgrader read the performance of iteration '{trained.name}' at the wrong thresholds.",
            evidence={**iteration_evidence(trained), "threshold": perf.threshold,
                      "overlap_threshold": perf.overlap_threshold, "expected_threshold": threshold,
                      "expected_overlap_threshold": overlap_threshold},
        )
    p_min, map_min = expect["precision_min"], expect["map_min"]
    mean_ap = perf.average_precision
    ev = {**iteration_evidence(trained), "threshold": threshold, "overlap_threshold": overlap_threshold,
          "precision": perf.precision, "recall": perf.recall, "map": mean_ap, "precision_min": p_min,
          "map_min": map_min,
          "per_tag": [{"tag": t.name, "precision": t.precision, "recall": t.recall,
                       "average_precision": t.average_precision} for t in perf.per_tag]}
    if mean_ap is None:
        return errored(f"Azure did not report the mAP of iteration '{trained.name}'.", evidence=ev)
    figures = (f"precision {pct(perf.precision)} and mAP {pct(mean_ap)} at the {pct(threshold)} probability "
               f"threshold and {pct(overlap_threshold)} overlap threshold")
    floors = f"this lab needs at least {pct(p_min)} precision and {pct(map_min)} mAP"
    eps = 1e-9  # floats from JSON: 0.7 must pass a 0.7 floor
    if perf.precision + eps >= p_min and mean_ap + eps >= map_min:
        return passed(f"Iteration '{trained.name}' of project '{project.name}' reaches {figures} ({floors}).", ev)
    tags = ctx.params.get(F.TAGS) or ()
    boxes = f"'{tags[0]}' box" if len(tags) == 1 else "box"
    return failed(
        f"Iteration '{trained.name}' of project '{project.name}' reaches {figures}; {floors}.",
        f"On the Training Images tab, check that every defect has a {boxes} drawn tightly around it (missing, "
        "loose or misplaced boxes lower mAP), draw regions on more images if you can, then click Train and "
        "choose Quick Training again.",
        ev,
    )


# -- the Quick Test --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class TestImage:
    """One of the lab's test images: its file name, SHA-256 and the true boxes of its defects (none: a good part)."""

    name: str
    sha256: str
    defects: tuple[F.Box, ...]


def test_images(spec: Any) -> dict[str, TestImage]:
    """``expect["test_images"]`` by lower-case SHA-256; raises ExpectationError when malformed."""
    out: dict[str, TestImage] = {}
    for item in spec or ():
        try:
            boxes = tuple(F.Box(*(float(v) for v in b)) for b in item.get("defects") or ())
            image = TestImage(str(item["name"]), str(item["sha256"]).lower(), boxes)
        except (AttributeError, KeyError, TypeError, ValueError):
            raise ExpectationError(f"a test image needs name, sha256 and defects [[left, top, width, height], "
                                   f"...], got {item!r}") from None
        out[image.sha256] = image
    return out


_FRACTIONS_BOX = {"type": "array", "minItems": 4, "maxItems": 4, "items": {"type": "number", **_FRACTION}}
TEST_IMAGES = KeyType(
    "test_images", "a list of {name, sha256, defects: [[left, top, width, height], ...]} (fractions of the image)",
    {"type": "array", "items": {
        "type": "object", "required": ["name", "sha256"], "additionalProperties": False,
        "properties": {"name": {"type": "string", "minLength": 1},
                       "sha256": {"type": "string", "pattern": "^[0-9a-fA-F]{64}$"},
                       "defects": {"type": "array", "items": _FRACTIONS_BOX}}}},
    coerce=lambda v: test_images(v),
)
"""The lab's test images by SHA-256 of the file, with the true boxes of their defects (none: a good casting)."""


@check("quicktest_region_overlap", title="A Quick Test on the trained iteration finds the defect where it is",
       reads=(F.TRAINING_ACCOUNT, F.PROJECT, F.LATEST_ITERATION, F.TRAINED_ITERATION, F.PREDICTIONS,
              F.PREDICTION_IMAGES),
       requires=(F.PROJECT, QUICK_TESTED),
       expects=(
           Key("tag", TAG, "The tag the top predicted region must have.", required=True, example="Defect"),
           Key("min_overlap", NUMBER, "How much (IoU) the top predicted region must overlap a true defect.",
               default=0.3, example=0.3, **_FRACTION),
           Key("test_folder", TEXT, "Where the student finds the lab's test images (named in the hint)."),
           Key("test_images", TEST_IMAGES, "The lab's test images: which image a Quick Test used, and where its "
                                           "defects really are.", default=()),
       ))
def quicktest_region_overlap(facts: F.Snapshot, expect: Mapping[str, Any], ctx: Context) -> Outcome:
    project = facts[F.PROJECT]
    trained = facts[F.TRAINED_ITERATION]
    want = expect["tag"]
    latest = facts[F.LATEST_ITERATION]
    retraining = latest if latest is not None and latest.id != trained.id and is_running(latest) else None
    out = _judge_quicktest(project, trained, want, expect, list(facts[F.PREDICTIONS] or []),
                           dict(facts[F.PREDICTION_IMAGES] or {}))
    if out.status is not Status.PASS and retraining is not None:
        return wait_for_retrain(retraining, project, want, ctx, dict(out.evidence))
    return out


def _judge_quicktest(project: F.ProjectFact, trained: F.IterationFact, want: str, expect: Mapping[str, Any],
                     preds: list[F.PredictionFact], digests: dict[str, str]) -> Outcome:
    known: dict[str, TestImage] = expect["test_images"]
    need = expect["min_overlap"]
    folder = expect["test_folder"]
    pick = (f"open one of the images in {folder} that shows a defect" if folder
            else "open one of the lab's test images that shows a defect")
    test = f"In customvision.ai, click Quick Test, select Browse local files, and {pick}."
    here = newest_first([p for p in preds if p.iteration_id in (None, trained.id)])
    ev: dict[str, Any] = {"project": project.name, "iteration": trained.name, "iteration_id": trained.id,
                          "expected_tag": want, "min_overlap": need, "predictions": []}
    verdicts: list[tuple[F.PredictionFact, str, TestImage | None, float | None]] = []
    for p in here:
        image = known.get(digests[p.id]) if p.id in digests else None
        verdict, best = _verdict(p, want, image, need, read=p.id in digests)
        verdicts.append((p, verdict, image, best))
        ev["predictions"].append({"id": p.id, "top_tag": p.top_tag, "probability": p.top_probability,
                                  "image": image.name if image else None, "overlap": best, "verdict": verdict})
    hit = next((v for v in verdicts if v[1] == "found"), None)
    if hit is not None:
        p, _, image, best = hit
        ev["match"] = p.id
        return passed(f"Found a Quick Test on iteration '{trained.name}' whose top prediction is a '{p.top_tag}' "
                      f"region ({pct(p.top_probability)}) on the defect in '{image.name}' (overlap "
                      f"{pct(best)}).", ev)
    judged = [v for v in verdicts if v[1] != "unread"]
    if not judged:
        if here:  # tests whose top prediction is no region at all (a Classification model), or not read
            tops = joined(f"'{p.top_tag}' ({pct(p.top_probability)})" for p in here)
            return failed(f"Found {plural(len(here), 'Quick Test result')} on iteration '{trained.name}', but "
                          f"none has a '{want}' region as its top prediction (top predictions: {tops}).", test, ev)
        return failed(f"No stored Quick Test result was found for iteration '{trained.name}' of project "
                      f"'{project.name}'.", test, ev)
    p, verdict, image, best = judged[0]  # the newest: what the student just did
    newest = f"Your newest Quick Test on iteration '{trained.name}'"
    if verdict == "unknown-image":
        return failed(f"{newest} used an image that is not one of the lab's test images, so labgrader cannot tell "
                      "where its defect is.", test, ev)
    if verdict == "no-defect":
        return failed(f"{newest} used '{image.name}', a casting with no defect; this task needs one with a "
                      "defect.", test, ev)
    if verdict == "other-tag":
        top = f"'{p.top_tag}' ({pct(p.top_probability)})" if p.top_tag else "nothing"
        return failed(f"{newest} ('{image.name}') has {top} as its top prediction, not a '{want}' region.",
                      f"If the model finds no '{want}' region, it needs more or better regions to learn from: "
                      f"check the boxes on the Training Images tab, train again with Quick Training, and "
                      f"quick-test again.", ev)
    closest = min(image.defects, key=lambda d: -overlap(p.top_box, d))
    return failed(
        f"{newest} ('{image.name}') has a '{p.top_tag}' region ({pct(p.top_probability)}) at {where(p.top_box)} as "
        f"its top prediction, but the defect is at {where(closest)}: they overlap by {pct(best)}, and this lab "
        f"needs {pct(need)}.",
        f"The model learned to box the wrong places. On the Training Images tab, check that every '{want}' box "
        "fits tightly around the defect and fix the ones that do not, then click Train, choose Quick Training, "
        "and quick-test again.",
        ev,
    )


def _verdict(p: F.PredictionFact, want: str, image: TestImage | None, need: float,
             read: bool) -> tuple[str, float | None]:
    """(verdict, best overlap) for one stored Quick Test: found, unread (its image was not read: its top
    prediction is no region, or it is older than the ones read), unknown-image, no-defect, other-tag, missed."""
    if not read:
        return "unread", None
    if image is None:
        return "unknown-image", None
    if not image.defects:
        return "no-defect", None
    if p.top_box is None or tag_key(p.top_tag) != tag_key(want):
        return "other-tag", None
    best = max(overlap(p.top_box, d) for d in image.defects)
    return ("found" if best + 1e-9 >= need else "missed"), best
