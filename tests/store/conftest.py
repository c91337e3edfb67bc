"""Fixtures of the store tests: one Cloud Storage emulator for the module that asks for it."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from gcs_emulator import emulator


@pytest.fixture(scope="module")
def gcs_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with emulator(tmp_path_factory.mktemp("gcs")) as url:
        yield url


@pytest.fixture
def gcs_env(gcs_url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("STORAGE_EMULATOR_HOST", gcs_url)
    return gcs_url
