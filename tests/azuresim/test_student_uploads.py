"""The scripted student's uploads: doing one tagging task right never repairs the other task's mistake."""

from __future__ import annotations

from azuresim.student import DEFECT_TAG, GOOD_TAG, Student

COUNTS = {GOOD_TAG: 6, DEFECT_TAG: 8}


def _tag_counts(student: Student) -> dict[str, int]:
    trainer, project = student.trainer(), student.project()
    return {t.name: t.image_count for t in trainer.get_tags(project.id)}


def test_tagging_the_defects_keeps_the_good_images_untagged_until_3_1_is_redone(attendee):
    student = Student(attendee, counts=dict(COUNTS))
    for task in ("1", "2"):
        student.do(task)
    student.do("3.1", "untagged")
    student.do("3.2", "untagged")
    trainer, project = student.trainer(), student.project()
    assert trainer.get_untagged_image_count(project.id) == COUNTS[GOOD_TAG] + COUNTS[DEFECT_TAG]

    student.do("3.2")  # the defects, now tagged: only they leave the untagged pile
    assert trainer.get_untagged_image_count(project.id) == COUNTS[GOOD_TAG]
    assert _tag_counts(student) == {DEFECT_TAG: COUNTS[DEFECT_TAG]}

    student.do("3.1")
    assert trainer.get_untagged_image_count(project.id) == 0
    assert _tag_counts(student) == {GOOD_TAG: COUNTS[GOOD_TAG], DEFECT_TAG: COUNTS[DEFECT_TAG]}
    student.do("3.1")  # doing it again changes nothing
    assert _tag_counts(student) == {GOOD_TAG: COUNTS[GOOD_TAG], DEFECT_TAG: COUNTS[DEFECT_TAG]}
    assert trainer.get_image_count(project.id) == COUNTS[GOOD_TAG] + COUNTS[DEFECT_TAG]
