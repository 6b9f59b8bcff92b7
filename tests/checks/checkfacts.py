"""Plain fact builders for the checks' tests (a uniquely named module, so imports never hit another conftest)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from checks import facts as F
from checks.base import Context

LAB_YAML = Path(__file__).resolve().parents[2] / "labguide" / "packs" / "spot-the-flaw" / "lab.yaml"
DETECTION_LAB_YAML = LAB_YAML.parents[1] / "find-the-flaw" / "lab.yaml"
NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
RG = "ODL-SREB-U4L08"
COMPACT = "0732100f-1a38-4e49-a514-c9b44c697ab5"
GENERAL = "ee85a74c-405e-4adc-bb47-ffa8ca0c9f31"
OD_COMPACT = "a27d5ca5-bb19-49d8-a70a-fec086c47f5b"


def account(name="customvision-casting-100001", kind="CustomVision.Training", sku="F0", location="eastus",
            rg=RG, state="Succeeded") -> F.AccountFact:
    return F.AccountFact(name, kind, sku, location, rg, state, f"https://{name}.cognitiveservices.azure.com/")


def iteration(id="it1", name="Iteration 1", status="Completed", created=NOW - timedelta(minutes=30),
              training_type="Regular", exportable=True,
              exportable_to=("CoreML", "TensorFlow", "DockerFile", "ONNX", "OpenVino"),
              training_error=None) -> F.IterationFact:
    return F.IterationFact(
        id=id, name=name, status=status, created=created, last_modified=created,
        trained_at=created + timedelta(minutes=5) if status == "Completed" else None,
        training_type=training_type, exportable=exportable, exportable_to=tuple(exportable_to),
        domain_id=COMPACT, classification_type="Multiclass", training_error=training_error,
    )


def project(**kw) -> F.ProjectFact:
    base = dict(id="p1", name="Casting Defect Detection",
                description="Classifying casting images as ok or defective", domain_id=COMPACT,
                classification_type="Multiclass", target_export_platforms=(),
                created=NOW - timedelta(hours=1))
    base.update(kw)
    return F.ProjectFact(**base)


def prediction(top_tag, prob=0.99, iteration_id="it1", id=None, minutes_ago=5) -> F.PredictionFact:
    return F.PredictionFact(id or f"pred-{top_tag}", iteration_id, NOW - timedelta(minutes=minutes_ago),
                            top_tag, prob)


def performance(precision=0.981, recall=0.977, threshold=0.5, iteration_id="it1") -> F.PerformanceFact:
    per_tag = (F.TagPerformance("Defect", precision, recall, 0.99),
               F.TagPerformance("Non Defective", precision, recall, 0.99))
    return F.PerformanceFact(precision, recall, 0.99, per_tag, threshold, iteration_id)


def with_derived(facts: dict, ctx: Context) -> dict:
    """Fill the derived facts the way the validator does (their declarations' ``settle``)."""
    out = dict(facts)
    for fact in F.ALL:
        if fact.derived and fact not in facts:
            out[fact] = fact.settle(out, ctx.params.get(fact), ctx.resource_group)
    return out
