"""Fixtures for validator tests: the lab packs and a scripted student per attendee."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from azuresim.student import Student
from labguide.packs import load_pack
from validator import Attendee, Observation

SMALL = {"Non Defective": 30, "Defect": 40}


@pytest.fixture(scope="session")
def lab():
    return load_pack("spot-the-flaw")


@pytest.fixture(scope="session")
def small_lab(tmp_path_factory):
    """The Spot the Flaw pack with the image floors lowered (a lab author's yaml change, no code)."""
    src = Path(load_pack("spot-the-flaw").root)
    dst = tmp_path_factory.mktemp("packs") / "spot-the-flaw-small"
    shutil.copytree(src, dst)
    text = (dst / "lab.yaml").read_text()
    text = text.replace("min_images: 519", f"min_images: {SMALL['Non Defective']}")
    text = text.replace("min_images: 781", f"min_images: {SMALL['Defect']}")
    (dst / "lab.yaml").write_text(text)
    return load_pack(dst)


@pytest.fixture
def student(attendee):
    return Student(attendee, counts=dict(SMALL))


@pytest.fixture
def who(attendee, small_lab):
    """The attendee as the validator sees them."""
    return Attendee.from_json(attendee, small_lab)


@pytest.fixture
def runtime():
    """A fresh validator runtime (``validator.Observation``) for the test, as a new process has: no
    credentials, clients or remembered values; closed after."""
    with Observation() as fresh:
        yield fresh
