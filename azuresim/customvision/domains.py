"""Custom Vision's domains with their real ids (from Microsoft's docs, see WIRE-FACTS.md, and the docs'
"Select a domain" page for the object-detection ones and the compact models' sizes).

Only compact domains are exportable; they list the platforms an iteration trained on them can export to.
The Training API comes in two versions: v3.4-preview added the OpenVino platform and some fields, which
``serialize`` leaves out of v3.3 answers.
"""

from __future__ import annotations

CLASSIFICATION = "Classification"
OBJECT_DETECTION = "ObjectDetection"
ALL_PLATFORMS = ("CoreML", "TensorFlow", "DockerFile", "ONNX", "VAIDK", "OpenVino")
V33, V34 = "v3.3", "v3.4-preview"
# The export platforms each Training API version's enums name.
PLATFORMS = {V33: ALL_PLATFORMS[:5], V34: ALL_PLATFORMS}
_COMPACT_PLATFORMS = ("CoreML", "TensorFlow", "DockerFile", "ONNX", "OpenVino")


def _domain(domain_id: str, name: str, kind: str, platforms: tuple[str, ...] = (), size_mb: int = 0,
            about: str | None = None) -> dict:
    about = about or (f"{name.split(' ')[0].lower()} images" if kind == CLASSIFICATION
                      else f"finding objects in {name.split(' ')[0].lower()} images")
    info = {"description": f"Optimized for {about}" + (", small enough to run on a device." if platforms else ".")}
    if platforms:
        info["estimatedModelSizeInMegabytes"] = size_mb
    return {
        "id": domain_id,
        "name": name,
        "type": kind,
        "exportable": bool(platforms),
        "enabled": True,
        "exportablePlatforms": list(platforms),
        "modelInformation": info,
    }


DOMAINS: list[dict] = [
    _domain("ee85a74c-405e-4adc-bb47-ffa8ca0c9f31", "General", CLASSIFICATION),
    _domain("2e37d7fb-3a54-486a-b4d6-cfc369af0018", "General [A2]", CLASSIFICATION),
    _domain("a8e3c40f-fb4a-466f-832a-5e457ae4a344", "General [A1]", CLASSIFICATION),
    _domain("c151d5b5-dd07-472a-acc8-15d29dea8518", "Food", CLASSIFICATION),
    _domain("ca455789-012d-4b50-9fec-5bb63841c793", "Landmarks", CLASSIFICATION),
    _domain("b30a91ae-e3c1-4f73-a81e-c270bff27c39", "Retail", CLASSIFICATION),
    _domain("45badf75-3591-4f26-a705-45678d3e9f5f", "Adult", CLASSIFICATION),
    _domain("0732100f-1a38-4e49-a514-c9b44c697ab5", "General (compact)", CLASSIFICATION, _COMPACT_PLATFORMS, 6),
    _domain("a1db07ca-a19a-4830-bae8-e004a42dc863", "General (compact) [S1]", CLASSIFICATION, ALL_PLATFORMS, 43),
    _domain("8882951b-82cd-4c32-970b-d5f8cb8bf6d7", "Food (compact)", CLASSIFICATION, _COMPACT_PLATFORMS, 6),
    _domain("da2e3a8a-40a5-4171-82f4-58522f70fbc1", "General", OBJECT_DETECTION),
    _domain("9c616dff-2e7d-ea11-af59-1866da359ce6", "General [A1]", OBJECT_DETECTION),
    _domain("1d8ffafe-ec40-4fb2-8f90-72b3b6cecea4", "Logo", OBJECT_DETECTION, about="finding brand logos in images"),
    _domain("3780a898-81c3-4516-81ae-3a139614e1f3", "Products on Shelves", OBJECT_DETECTION,
            about="detecting and classifying products on shelves"),
    _domain("a27d5ca5-bb19-49d8-a70a-fec086c47f5b", "General (compact)", OBJECT_DETECTION, _COMPACT_PLATFORMS, 45),
    _domain("7ec2ac80-887b-48a6-8df9-8b1357765430", "General (compact) [S1]", OBJECT_DETECTION, ALL_PLATFORMS, 14),
]
_BY_ID = {d["id"]: d for d in DOMAINS}

DEFAULT_CLASSIFICATION = "ee85a74c-405e-4adc-bb47-ffa8ca0c9f31"
OD_GENERAL_COMPACT = "a27d5ca5-bb19-49d8-a70a-fec086c47f5b"


def is_detection(domain_id: str | None) -> bool:
    """True for an object-detection domain."""
    return (domain(domain_id) or {}).get("type") == OBJECT_DETECTION


def domain(domain_id: str | None) -> dict | None:
    """The domain with this id (case-insensitive), or None."""
    return _BY_ID.get((domain_id or "").lower())


def platforms(api: str | None) -> tuple[str, ...]:
    """The export platforms the Training API version ``api`` knows (all of them when unnamed)."""
    return PLATFORMS.get(api or V34, ALL_PLATFORMS)
