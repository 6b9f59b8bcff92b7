"""Fixtures for the lab guide tests: the seed guide text and a throwaway copy of the built-in pack."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from labguide.packs import BUILTIN_DIR

SEED = "seeds/000_fe57d823e3a1b478.txt"


@pytest.fixture
def seed_text(shared_dir: Path) -> str:
    return (shared_dir / SEED).read_text(encoding="utf-8")


@pytest.fixture
def pack_copy(tmp_path: Path) -> Path:
    """A copy of the spot-the-flaw pack a test may break."""
    dest = tmp_path / "spot-the-flaw"
    shutil.copytree(BUILTIN_DIR / "spot-the-flaw", dest)
    return dest
