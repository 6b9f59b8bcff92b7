"""Task 2 checks over plain facts."""

from __future__ import annotations

from checkfacts import GENERAL, OD_COMPACT, RG, project

from checks import facts as F
from checks.outcome import Status


def test_project_exists_pass(raw, run):
    out = run("project_exists", raw)
    assert out.status is Status.PASS and out.advice == ()
    assert out.message == ("Found project 'Casting Defect Detection' in Custom Vision resource "
                           "'customvision-casting-100001'.")


def test_project_exists_tolerates_case_and_spaces_but_reports_them(raw, run):
    raw[F.PROJECTS] = [project(name=" casting defect  detection")]
    out = run("project_exists", raw)
    assert out.status is Status.PASS and "' casting defect  detection'" in out.advice[0]


def test_project_exists_fail_none_and_wrong_name(raw, run):
    raw[F.PROJECTS] = []
    out = run("project_exists", raw)
    assert out.status is Status.FAIL and out.message == ("No project was found in Custom Vision resource "
                                                         "'customvision-casting-100001'.")
    assert "NEW PROJECT" in out.hint
    raw[F.PROJECTS] = [project(name="Casting Defects")]
    out = run("project_exists", raw)
    assert out.status is Status.FAIL and "found 'Casting Defects'" in out.message and "gear icon" in out.hint


def test_project_exists_prerequisite_points_at_task_1(raw, run):
    raw[F.ACCOUNTS] = []
    out = run("project_exists", raw)
    assert out.status is Status.FAIL
    assert out.message == ("Complete Task 1 first: no Custom Vision training resource named like "
                           f"'customvision-casting-100001' was found in resource group '{RG}'.")
    assert "Create a Custom Vision resource" in out.hint


def test_description_pass_and_fail(raw, run):
    raw[F.PROJECTS] = [project(description="classifying casting images as OK or defective.")]
    assert run("project_description", raw).status is Status.PASS
    raw[F.PROJECTS] = [project(description="")]
    out = run("project_description", raw)
    assert out.status is Status.FAIL and "has no description" in out.message
    raw[F.PROJECTS] = [project(description="castings")]
    out = run("project_description", raw)
    assert out.status is Status.FAIL and "'castings'" in out.message and "Description" in out.hint


def test_project_checks_fail_plainly_without_the_project(raw, run):
    raw[F.PROJECTS] = []
    for cid in ("project_description", "project_type_classification", "project_classification_multiclass",
                "project_domain_compact", "project_export_platforms_basic"):
        out = run(cid, raw)
        assert out.status is Status.FAIL and "No Custom Vision project" in out.message, cid


def test_type_classification_fail_for_object_detection(raw, run):
    raw[F.PROJECTS] = [project(domain_id=OD_COMPACT)]
    out = run("project_type_classification", raw)
    assert out.status is Status.FAIL
    assert out.message == ("Project 'Casting Defect Detection' is an Object Detection project; this lab needs "
                           "Classification.")
    assert "Project Types: Classification" in out.hint


def test_unknown_domain_id_is_an_error_not_a_fail(raw, run):
    raw[F.PROJECTS] = [project(domain_id="11111111-0000-0000-0000-000000000000")]
    for cid in ("project_type_classification", "project_domain_compact"):
        out = run(cid, raw)
        assert out.status is Status.ERROR and "not a problem with your work" in out.hint


def test_multiclass_pass_and_fail(raw, run):
    assert run("project_classification_multiclass", raw).status is Status.PASS
    raw[F.PROJECTS] = [project(classification_type="Multilabel")]
    out = run("project_classification_multiclass", raw)
    assert out.status is Status.FAIL
    assert out.message == ("Found project 'Casting Defect Detection' with classification type Multilabel. "
                           "This lab needs Multiclass.")
    assert "Multiclass" in out.hint and "gear icon" in out.hint


def test_domain_pass_and_fail(raw, run):
    out = run("project_domain_compact", raw)
    assert out.status is Status.PASS and out.evidence["domain"] == "General (compact)"
    raw[F.PROJECTS] = [project(domain_id=GENERAL)]
    out = run("project_domain_compact", raw)
    assert out.status is Status.FAIL
    assert out.message == ("Project 'Casting Defect Detection' uses domain 'General'; this lab needs "
                           "'General (compact)'.")
    assert "Domains: General (compact)" in out.hint


def test_export_platforms_pass_and_fail(raw, run):
    raw[F.PROJECTS] = [project(target_export_platforms=("CoreML", "TensorFlow"))]
    assert run("project_export_platforms_basic", raw).status is Status.PASS
    raw[F.PROJECTS] = [project(target_export_platforms=("VAIDK",))]
    out = run("project_export_platforms_basic", raw)
    assert out.status is Status.FAIL and "Vision AI Dev Kit" in out.message and "Basic platforms" in out.hint
