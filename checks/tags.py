"""Task 3: tags and their image counts; untagged images and extra tags (advice unless the lab says fail)."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from checks import facts as F
from checks.base import Context, check, failed, passed
from checks.expect import INTEGER, TAG, TAG_LIST, Key, tag_key
from checks.outcome import Outcome
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
       reads=(F.TRAINING_ACCOUNT, F.PROJECT, F.TAGS), uses=(F.UNTAGGED_COUNT,), requires=(F.PROJECT,),
       expects=(
           Key("tag", TAG, "The tag's name, as students type it under My Tags.", required=True, example="Defect"),
           Key("min_images", INTEGER, "How many images the tag must hold at least.", default=1, minimum=1,
               example=781),
           Key("lab_tags", TAG_LIST, "Every tag name of the lab, to tell a misspelt tag from another of the lab's "
                                     "tags (default: the tag names the lab's checks expect)."),
       ))
def tag_image_count(facts: F.Snapshot, expect: Mapping[str, Any], ctx: Context) -> Outcome:
    project = facts[F.PROJECT]
    tags: list[F.TagFact] = list(facts[F.TAGS] or [])
    # Untagged images change the fix: tag them (uploading them again only reports duplicates). Counted
    # only when the step counts them anyway; when unknown, the fix names both ways.
    counted = facts.get(F.UNTAGGED_COUNT)
    untagged = counted if isinstance(counted, int) else None
    want = expect["tag"]
    need = expect["min_images"]
    tag, others = find_tag(tags, want)
    ev: dict[str, Any] = {"project": project.name, "tags": {t.name: t.image_count for t in tags},
                          "expected_tag": want, "min_images": need}
    if untagged is not None:
        ev["untagged"] = untagged
    if tag is None:
        found = f"its tags are {quoted(t.name for t in tags)}" if tags else "it has no tags yet"
        close = _misspelling_of(want, tags, lab_tag_names(want, expect, ctx))
        if close is not None:
            # The images are already uploaded under a misspelled tag: renaming it fixes everything at once.
            return failed(f"Project '{project.name}' has no tag '{want}'; {found}.", rename_hint(close.name, want),
                          ev)
        if untagged:
            # Uploading the same images again only reports them as duplicates, untagged: tag the ones there.
            return failed(
                f"Project '{project.name}' has no tag '{want}'; {found}, and "
                f"{plural(untagged, 'image')} {'has' if untagged == 1 else 'have'} no tag.",
                _tag_untagged(want, need, 0, untagged), ev,
            )
        return failed(f"Project '{project.name}' has no tag '{want}'; {found}.", _add(want, untagged), ev)

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
    elif untagged:
        message += f" The project also has {plural(untagged, 'untagged image')}."
        hint = _tag_untagged(tag.name, need, tag.image_count, untagged)
    elif untagged == 0:
        hint = (f"In customvision.ai, select Add images, upload the {need - tag.image_count} missing images, "
                f"and tag them '{tag.name}'.")
    else:
        hint = (f"In customvision.ai, tag {need - tag.image_count} more images '{tag.name}': select them under "
                "Untagged if they are uploaded already, or upload them with Add images, typing "
                f"'{tag.name}' under My Tags.")
    return failed(message, hint, ev, advice)


def _add(want: str, untagged: int | None) -> str:
    """The fix for a missing tag: upload its images, or, when untagged images may be there, tag those."""
    if untagged == 0:
        return _ADD.format(tag=want)
    return (f"In customvision.ai, tag the images that belong under '{want}': select them under Untagged if they "
            f"are uploaded already, or select Add images, choose them, type '{want}' under My Tags, and upload "
            "them.")


def rename_hint(name: str, want: str) -> str:
    """The fix for tag ``name``, a misspelling of the lab's tag ``want``: rename it (its images keep it)."""
    return (f"Tag '{name}' looks like a misspelling of '{want}': in customvision.ai, in the Tags list of "
            f"Training Images, edit tag '{name}' and rename it to '{want}'.")


def _tag_untagged(want: str, need: int, have: int, untagged: int) -> str:
    """Tag the untagged images that belong under ``want``; upload only what is still missing after that."""
    hint = (f"In customvision.ai, select Untagged, select the images that belong under '{want}', and tag them "
            f"'{want}'.")
    if have + untagged < need:
        hint += (f" That still leaves fewer than {need}: upload the rest with Add images, typing '{want}' under "
                 "My Tags.")
    return hint


@check("project_untagged_images", title="Images are tagged and no unexpected tags exist",
       reads=(F.TRAINING_ACCOUNT, F.PROJECT, F.UNTAGGED_COUNT, F.TAGS), requires=(F.PROJECT,), severity="advice",
       expects=(Key("tags", TAG_LIST, "The lab's tag names: any other tag is reported (default: untagged images "
                                      "only).", example=["Non Defective", "Defect"]),),
       unobserved_advice="labgrader could not check this time for untagged images or tags the lab does not "
                         "use; it checks again when you press Validate.")
def project_untagged_images(facts: F.Snapshot, expect: Mapping[str, Any], ctx: Context) -> Outcome:
    """Untagged images and tags outside ``expect['tags']`` (when given) are advice, FAIL if ``fail: true``.

    A tag outside the lab's list is not called extra when it looks like a misspelling of a lab tag the project
    lacks: its images belong under that tag, so the fix is to rename it (never to delete it, which would
    leave its images untagged). A tag that holds images is never simply "deleted" either.
    """
    project = facts[F.PROJECT]
    untagged = int(facts[F.UNTAGGED_COUNT] or 0)
    tags: list[F.TagFact] = list(facts[F.TAGS] or [])
    known = expect["tags"]
    misspelt: dict[str, str] = {}  # tag name -> the lab tag it misspells
    if known is not None:
        lab_tags = tuple(str(k) for k in known)
        for want in lab_tags:
            if find_tag(tags, want)[0] is None and (close := _misspelling_of(want, tags, lab_tags)) is not None:
                misspelt.setdefault(close.name, want)
    keys = {tag_key(k) for k in known or ()}
    extra = [t for t in tags if known is not None and tag_key(t.name) not in keys and t.name not in misspelt]
    ev = {"project": project.name, "untagged": untagged, "extra_tags": [t.name for t in extra],
          "misspelled_tags": misspelt}
    findings: list[tuple[str, str]] = []  # (what was found, how to fix it)
    if untagged:
        findings.append((
            f"Project '{project.name}' has {plural(untagged, 'untagged image')}.",
            "In customvision.ai, select Untagged, select the images, and tag them (or delete them).",
        ))
    for name, want in misspelt.items():
        findings.append((f"Project '{project.name}' has tag '{name}' but no tag '{want}'.", rename_hint(name, want)))
    empty = [t for t in extra if t.image_count == 0]
    if empty:
        findings.append((
            f"Project '{project.name}' has {plural(len(empty), 'tag')} this lab does not use, with no images: "
            f"{quoted(t.name for t in empty)}.",
            f"Delete {'it' if len(empty) == 1 else 'them'} in the Tags list of Training Images.",
        ))
    for t in extra:
        if t.image_count:
            lab = f" (the lab's tags are {quoted(known)})" if known else ""
            findings.append((
                f"Project '{project.name}' has tag '{t.name}' with {plural(t.image_count, 'image')}, a tag this "
                f"lab does not use{lab}.",
                f"Each tag is trained as a category of its own: if those images belong under one of the lab's "
                f"tags, filter Tagged images by '{t.name}', select them, tag them with it, then delete tag "
                f"'{t.name}'.",
            ))
    if not findings:
        return passed(f"Every image in project '{project.name}' is tagged.", ev)
    if expect["fail"]:
        (message, hint), *rest = findings
        return failed(message, hint, ev, [f"{m} {h}" for m, h in rest])
    summary = " ".join(m for m, _ in findings)
    return passed(f"{summary} This does not count against this step.", ev, [f"{m} {h}" for m, h in findings])


def lab_tag_names(want: str, expect: Mapping[str, Any], ctx: Context) -> tuple[str, ...]:
    """Every tag name the lab expects: ``expect['lab_tags']`` if given, else the names the lab's checks use
    (``ctx.params[TAGS]``, see ``checks.select.lab_parameters``), always including ``want``."""
    names = expect["lab_tags"] or ctx.params.get(F.TAGS) or ()
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
