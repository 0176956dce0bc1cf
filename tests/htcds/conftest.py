from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def shared_dir() -> Path:
    return Path(os.getenv("PHARE_SHARED", str(ROOT.parent / "shared")))


@pytest.fixture
def shared() -> Path:
    path = shared_dir()
    if not (path / "htcds").is_dir():
        if os.getenv("CI"):
            pytest.fail(f"the HTCDS reference files are missing at {path} (set PHARE_SHARED)")
        pytest.skip(f"HTCDS reference files not found at {path}; set PHARE_SHARED")
    return path
