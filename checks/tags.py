"""Task 3: tags and their image counts; untagged images and extra tags (advice unless the lab says fail)."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from checks import facts as F
from checks.base import Context, check, failed, passed
from checks.expect import tag_key
from checks.outcome import Outcome
from checks.projects import need_project
from checks.wording import plural, quoted

_ADD = "In customvision.ai, select Add images, choose the images, type '{tag}' under My Tags, and upload them."


def find_tag(tags: list[F.TagFact], name: str) -> tuple[F.TagFact | None, list[F.TagFact]]:
    """The tag for ``name`` (exact spelling first, else the fullest spelling variant) and the other variants.

    Variants differ only in case, spaces, hyphens or quotes ("Non-Defective", "\u201cDefect").
    """
    variants = [t for t in tags if tag_key(t.name) == tag_key(name)]
    if not variants:
        return None, []
    exact = [t for t in variants if t.name == name]
    chosen = exact[0] if exact else max(variants, key=lambda t: t.image_count)
    return chosen, [t for t in variants if t is not chosen]


@check("tag_image_count", title="A tag holds at least the lab's number of images",
       reads=(F.TRAINING_ACCOUNT, F.PROJECT, F.TAGS))
def tag_image_count(facts: Mapping[str, Any], expect: Mapping[str, Any], ctx: Context) -> Outcome:
    project, out = need_project(facts, ctx)
    if out:
        return out
    tags: list[F.TagFact] = list(facts[F.TAGS] or [])
    want = expect["tag"]
    need = int(expect.get("min_images", 1))
    tag, others = find_tag(tags, want)
    ev: dict[str, Any] = {"project": project.name, "tags": {t.name: t.image_count for t in tags},
                          "expected_tag": want, "min_images": need}
    if tag is None:
        found = f"its tags are {quoted(t.name for t in tags)}" if tags else "it has no tags yet"
        close = _misspelling_of(want, tags, lab_tag_names(want, expect, ctx))
        hint = _ADD.format(tag=want)
        if close is not None:
            # The images are already uploaded under a misspelled tag: renaming it fixes everything at once.
            hint = (f"Tag '{close.name}' looks like a misspelling of '{want}': in customvision.ai, in the Tags "
                    f"list of Training Images, edit tag '{close.name}' and rename it to '{want}'.")
        return failed(f"Project '{project.name}' has no tag '{want}'; {found}.", hint, ev)

    ev.update(tag=tag.name, image_count=tag.image_count)
    advice = []
    if tag.name != want:
        advice.append(f"The tag is named '{tag.name}'; the lab calls it '{want}'. labgrader accepts it.")
    if others:
        advice.append(f"Project '{project.name}' also has {quoted(t.name for t in others)}, a spelling variant "
                      f"of '{want}'; keep one tag per category.")
    if tag.image_count >= need:
        return passed(f"Tag '{tag.name}' in project '{project.name}' holds {plural(tag.image_count, 'image')} "
                      f"(at least {need} needed).", ev, advice)
    split = sum(t.image_count for t in others)
    message = (f"Tag '{tag.name}' in project '{project.name}' holds {plural(tag.image_count, 'image')}; this lab "
               f"needs at least {need}.")
    if split:
        message += f" Another {plural(split, 'image')} carry the variant {quoted(t.name for t in others)}."
        hint = (f"In customvision.ai, filter Tagged images by {quoted(t.name for t in others)}, select them all, "
                f"tag them '{tag.name}', then delete the variant tag.")
    else:
        hint = (f"In customvision.ai, select Add images, upload the {need - tag.image_count} missing images, "
                f"and tag them '{tag.name}'.")
    return failed(message, hint, ev, advice)


@check("project_untagged_images", title="Images are tagged and no unexpected tags exist",
       reads=(F.TRAINING_ACCOUNT, F.PROJECT, F.UNTAGGED_COUNT, F.TAGS), severity="advice",
       unobserved_advice="labgrader could not count untagged images this time; it counts them again when you "
                         "press Validate.")
def project_untagged_images(facts: Mapping[str, Any], expect: Mapping[str, Any], ctx: Context) -> Outcome:
    """Untagged images and tags outside ``expect['tags']`` (when given) are advice, FAIL if ``fail: true``."""
    project, out = need_project(facts, ctx)
    if out:
        return out
    untagged = int(facts[F.UNTAGGED_COUNT] or 0)
    tags: list[F.TagFact] = list(facts[F.TAGS] or [])
    known = expect.get("tags")
    extra = [t for t in tags if known is not None and tag_key(t.name) not in {tag_key(k) for k in known}]
    ev = {"project": project.name, "untagged": untagged, "extra_tags": [t.name for t in extra]}
    findings: list[tuple[str, str]] = []  # (what was found, how to fix it)
    if untagged:
        findings.append((
            f"Project '{project.name}' has {plural(untagged, 'untagged image')}.",
            "In customvision.ai, select Untagged, select the images, and tag them (or delete them).",
        ))
    if extra:
        findings.append((
            f"Project '{project.name}' has {plural(len(extra), 'tag')} this lab does not use: "
            f"{quoted(t.name for t in extra)}.",
            "Delete the extra tags in the Tags list unless you need them.",
        ))
    if not findings:
        return passed(f"Every image in project '{project.name}' is tagged.", ev)
    if expect.get("fail", False):
        (message, hint), *rest = findings
        return failed(message, hint, ev, [f"{m} {h}" for m, h in rest])
    summary = " ".join(m for m, _ in findings)
    return passed(f"{summary} This does not count against this step.", ev, [f"{m} {h}" for m, h in findings])


def lab_tag_names(want: str, expect: Mapping[str, Any], ctx: Context) -> tuple[str, ...]:
    """Every tag name the lab expects: ``expect['lab_tags']`` if given, else the names the lab's checks use
    (``ctx.params[TAGS]``, see ``checks.select.lab_parameters``), always including ``want``."""
    names = expect.get("lab_tags") or ctx.params.get(F.TAGS) or ()
    if isinstance(names, str):
        names = (names,)
    return tuple(dict.fromkeys([want, *names]))


def _similarity(a: str, b: str) -> float:
    return difflib.SequenceMatcher(None, a.casefold(), b.casefold()).ratio()


def _adds_words(candidate: str, want: str) -> bool:
    # "Non Defect" holds every word of "Defect" plus a qualifier: a different category, not a typo.
    have, need = set(candidate.casefold().split()), set(want.casefold().split())
    return need < have


def _misspelling_of(want: str, tags: list[F.TagFact], lab_tags: tuple[str, ...] = ()) -> F.TagFact | None:
    """The tag that looks like a misspelling of ``want``, else None.

    A tag qualifies only when it is close to ``want`` (difflib ratio 0.7 or more), ``want`` is its closest
    match among all the lab's tag names (``lab_tags``; a tie is ambiguous), it is not an accepted spelling
    variant of another lab tag, and it does not merely add words to ``want``. Without these, "Non Defect"
    (good castings) scores 0.75 against "Defect", and the hint would relabel good images as defects.
    """
    expected = tuple(dict.fromkeys([want, *lab_tags]))
    others = [n for n in expected if tag_key(n) != tag_key(want)]
    best: tuple[float, F.TagFact] | None = None
    for t in tags:
        score = _similarity(t.name, want)
        if score < 0.7 or _adds_words(t.name, want):
            continue
        if any(tag_key(t.name) == tag_key(o) or _similarity(t.name, o) >= score for o in others):
            continue
        if best is None or score > best[0]:
            best = (score, t)
    return best[1] if best else None
