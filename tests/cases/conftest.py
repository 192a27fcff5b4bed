"""Fixtures of the case-record tests (helpers live in cases_helpers.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from cases_helpers import test_key  # noqa: E402


@pytest.fixture
def key():
    return test_key()
