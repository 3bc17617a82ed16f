"""Shared fixtures: the app on a throw-away instance folder, its clients, and media."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED_MEDIA = Path(os.environ.get("CLIPZY_SHARED_MEDIA", ROOT.parent / "shared" / "media"))
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def need(condition: bool, reason: str) -> None:
    """Skip with ``reason`` when ``condition`` is false, except in CI where it fails."""
    if not condition:
        if IN_CI:
            pytest.fail(f"required in CI: {reason}")
        pytest.skip(reason)


@pytest.fixture(scope="session")
def shared_media() -> Path:
    """The ../shared/media folder (skip locally if absent; fail in CI)."""
    need(SHARED_MEDIA.is_dir(), f"shared media folder {SHARED_MEDIA} is absent")
    return SHARED_MEDIA


@pytest.fixture
def media_file(shared_media):
    """media_file("cockatoo.mp4") → path string of a shared clip (skip/fail if missing)."""

    def get(name: str) -> str:
        p = shared_media / name
        need(p.is_file(), f"shared media file {p} is absent")
        return str(p)

    return get
