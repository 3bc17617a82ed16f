"""Hostile and broken media: the upload answers a clean 4xx or true metadata, and the engine's
decode paths either work or raise InvalidMediaError, within a time and memory bound.

The corpus (tests/synth/hostile.py) is written once per session. Each case is uploaded
through the Flask test client; after each upload the service must still be healthy and
``instance/tmp`` empty. The engine's probe, FramePump and decode_audio run on each file in
a spawned worker process, so a hang or a crash is caught by a timeout, and memory is
measured as the worker's peak RSS growth during that file (and tracemalloc's peak for
Python/numpy allocations).
"""
from __future__ import annotations

import io
import json
import math
import multiprocessing
import os
import time
from pathlib import Path

import pytest

from conftest import make_app
from synth.hostile import HostileCase, build_corpus, engine_check

ENGINE_TIMEOUT_S = 60.0
MEMORY_LIMIT_BYTES = 200 * 1024 * 1024


def _build_once() -> dict[str, HostileCase]:
    """The corpus, written once at collection (its case names parametrize the tests)."""
    import atexit
    import shutil
    import tempfile

    d = tempfile.mkdtemp(prefix="clipzy-hostile-")
    atexit.register(shutil.rmtree, d, True)
    return {c.name: c for c in build_corpus(d)}


_CORPUS = _build_once()
CASE_NAMES = list(_CORPUS)


@pytest.fixture(scope="session")
def corpus() -> dict[str, HostileCase]:
    return _CORPUS


@pytest.fixture(scope="module")
def hostile_app(tmp_path_factory):
    instance = tmp_path_factory.mktemp("hostile_instance")
    app = make_app(instance, MAX_VIDEO_DURATION_SECONDS=60)  # small, so a tiny file can exceed it
    yield app
    from clipzy import stop_workers

    stop_workers(app)


def test_corpus_is_large_and_varied(corpus):
    assert len(corpus) >= 25
    kinds = {c.expect for c in corpus.values()}
    assert kinds == {"reject", "accept", "either"}
    for c in corpus.values():
        assert os.path.isfile(c.path), c.name
        assert os.path.getsize(c.path) < 200 * 1024, c.name  # tiny files, even the "huge" ones


# -- the engine in a child process ---------------------------------------------------


@pytest.fixture(scope="module")
def engine_worker():
    """One spawned worker process (not forked: the test process may hold threads and locks)."""
    holder = {"pool": None}

    def get():
        if holder["pool"] is None:
            holder["pool"] = multiprocessing.get_context("spawn").Pool(1)
        return holder["pool"]

    def run(path: str, timeout_s: float = ENGINE_TIMEOUT_S) -> dict:
        """probe + FramePump + decode_audio on ``path`` in the worker; returns what each did."""
        t0 = time.monotonic()
        pending = get().apply_async(engine_check, (path,))
        try:
            result = pending.get(timeout_s)
        except multiprocessing.TimeoutError:
            holder["pool"].terminate()  # a hung or crashed decode: start a fresh worker for the next case
            holder["pool"] = None
            pytest.fail(f"engine decode paths hung or crashed the process ({time.monotonic() - t0:.0f} s)")
        result["seconds"] = round(time.monotonic() - t0, 2)
        return result

    yield run
    if holder["pool"] is not None:
        holder["pool"].terminate()
        holder["pool"].join()


# -- the upload -------------------------------------------------------------------------


def _upload(client, case: HostileCase):
    with open(case.path, "rb") as fh:
        data = {"file": (io.BytesIO(fh.read()), case.filename)}
    return client.post("/api/v1/videos/upload", data=data, content_type="multipart/form-data")


def _matches(meta: dict, truth: dict) -> list[str]:
    bad = []
    for key, want in truth.items():
        got = meta.get(key)
        if isinstance(want, tuple):
            lo, hi = want
            if not (isinstance(got, (int, float)) and lo <= got <= hi):
                bad.append(f"{key}={got!r} not in [{lo}, {hi}]")
        elif got != want:
            bad.append(f"{key}={got!r}, expected {want!r}")
    return bad


def _sane_metadata(meta: dict) -> None:
    assert meta["width"] >= 1 and meta["height"] >= 1
    assert meta["rotation"] in (0, 90, 180, 270)
    for k in ("duration_seconds", "frame_rate"):
        assert isinstance(meta[k], (int, float)) and math.isfinite(meta[k]) and meta[k] >= 0, (k, meta[k])
    assert meta["format"] in ("mp4", "mov", "avi", "mkv", "webm")
    assert isinstance(meta["codec"], str) and meta["codec"]
    assert (meta["audio_codec"] is None) == (not meta["has_audio"])


@pytest.mark.parametrize("name", CASE_NAMES)
def test_hostile_upload(name, corpus, hostile_app):
    case = corpus[name]
    app = hostile_app
    client = app.test_client()
    instance = Path(app.instance_path)
    uploads_before = set(os.listdir(instance / "uploads"))

    resp = _upload(client, case)
    text = resp.get_data(as_text=True)
    assert resp.status_code != 500 and resp.status_code in (200, 413, 422), f"{name}: {resp.status_code} {text}"
    body = resp.get_json()
    assert body is not None, f"{name}: not JSON: {text[:200]}"
    assert "Traceback" not in text

    if resp.status_code == 200:
        assert case.expect in ("accept", "either"), f"{name} was accepted but must be refused: {body}"
        data = body["data"]
        meta = data["metadata"]
        _sane_metadata(meta)
        assert data["file_size_bytes"] == os.path.getsize(case.path)
        assert not _matches(meta, case.truth), f"{name}: metadata not true: {_matches(meta, case.truth)} in {meta}"
        assert client.get(f"/api/v1/videos/{data['video_id']}").get_json()["data"]["metadata"] == meta
        stored = set(os.listdir(instance / "uploads")) - uploads_before
        assert len(stored) == 1
    else:
        assert case.expect in ("reject", "either"), f"{name} was refused but is a valid video: {text}"
        assert body["success"] is False
        assert str(instance) not in text and "/tmp/" not in text and case.path not in text, text
        err = body["error"]
        assert err["code"] in case.codes, f"{name}: code {err['code']} not in {case.codes}: {text}"
        assert resp.status_code == 422
        assert len(body["message"]) >= 8 and len(err["detail"]) >= 10, f"{name}: message is not useful: {text}"
        assert set(os.listdir(instance / "uploads")) == uploads_before, "a refused upload left a file"

    # the service is still healthy and nothing is left in tmp/
    health = client.get("/api/v1/health")
    assert health.status_code == 200 and health.get_json()["data"]["status"] == "ok"
    assert os.listdir(instance / "tmp") == [], f"{name}: temp files left: {os.listdir(instance / 'tmp')}"


@pytest.mark.parametrize("name", CASE_NAMES)
def test_hostile_engine_paths(name, corpus, engine_worker):
    """probe, FramePump and decode_audio: work or InvalidMediaError; no hang; memory bounded."""
    case = corpus[name]
    r = engine_worker(case.path)
    detail = json.dumps(r, default=str)[:1500]
    for step in ("probe", "pump", "audio"):
        status, value = r[step]
        assert status in ("ok", "invalid"), f"{name}: {step} raised a non-InvalidMediaError: {value}"
        if status == "invalid":
            assert value and "/" not in value, f"{name}: {step} message is not user-safe: {value!r}"
    assert r["rss_growth"] < MEMORY_LIMIT_BYTES, f"{name}: RSS grew {r['rss_growth'] / 2**20:.0f} MiB: {detail}"
    assert r["tracemalloc_peak"] < MEMORY_LIMIT_BYTES, detail

    probe_status, meta = r["probe"]
    if probe_status == "ok":
        _sane_metadata(meta)
        if case.expect == "accept":
            assert not _matches(meta, case.truth), f"{name}: {_matches(meta, case.truth)}"
        pump_status, pump = r["pump"]
        if pump_status == "ok":
            assert pump["frames"] >= 1 and pump["pushed"] == pump["frames"], detail
            assert not pump["problems"], f"{name}: {pump['problems']}"
        else:
            assert case.expect != "accept", f"{name}: a valid video failed to decode: {pump}"
        audio_status, audio = r["audio"]
        if meta["has_audio"] and case.expect == "accept":
            assert audio_status == "ok" and audio is not None and audio["shape"][0] > 0, detail
            assert audio["finite"] and audio["peak"] <= 1.0 + 1e-6, detail
        if not meta["has_audio"]:
            assert audio_status == "ok" and audio is None, detail
    else:
        assert case.expect in ("reject", "either"), f"{name}: a valid video failed to probe: {meta}"


# -- real jobs on accepted hostile files ------------------------------------------------

JOB_CASES = ["two_by_two_pixels", "odd_size_33x17", "rotation_90", "variable_frame_rate", "non_monotonic_timestamps",
             "bytes_flipped_mid_stream", "stts_huge_sample_duration", "eight_audio_channels", "audio_24_channels",
             "audio_8khz_mono", "single_frame", "bytes_flipped_vp9", "truncated_50pct_vp9", "aspect_8_to_1",
             "starts_mid_gop", "truncated_50pct_faststart_mp4", "audio_much_longer", "hevc"]
APPLY_PAIRS = [("control_ok", "odd_size_33x17"), ("control_ok", "two_by_two_pixels"), ("eight_audio_channels", "rotation_90"),
               ("aspect_8_to_1", "variable_frame_rate"), ("audio_8khz_mono", "audio_much_longer")]  # (template, footage)
JOBS_TIMEOUT_S = 300.0


@pytest.mark.slow
def test_jobs_on_hostile_files_end_cleanly(corpus, tmp_path):
    """Real extract jobs (and a few apply jobs) on accepted hostile files: each ends ``completed``
    (a Style DNA true to the file; for apply, an even-sized H.264 output) or ``failed`` with
    INVALID_MEDIA and a message a user can act on; never PROCESSING_ERROR, never stuck.
    Files corrupted after their upload must fail INVALID_MEDIA."""
    from clipzy import stop_workers

    app = make_app(tmp_path / "instance", CLIPZY_START_RUNNER=True, MAX_CONCURRENT_JOBS=1,
                   PROCESSING_TIMEOUT_SECONDS=JOBS_TIMEOUT_S)
    client = app.test_client()
    try:
        jobs: dict[str, tuple[str, dict]] = {}
        for name in JOB_CASES:
            resp = _upload(client, corpus[name])
            if resp.status_code != 200:  # an "either" case this build refuses: nothing to run
                assert corpus[name].expect == "either", resp.get_data(as_text=True)
                continue
            video = resp.get_json()["data"]
            job = client.post("/api/v1/jobs", json={"video_id": video["video_id"]}).get_json()["data"]
            jobs[name] = (job["job_id"], video["metadata"])
        assert len(jobs) >= 5
        # apply jobs: hostile footage under a sane template, hostile templates over sane footage
        ids: dict[str, dict] = {}
        for name in {n for pair in APPLY_PAIRS for n in pair}:
            ids[name] = _upload(client, corpus[name]).get_json()["data"]
        for template, footage in APPLY_PAIRS:
            job = client.post("/api/v1/jobs", json={"video_id": ids[footage]["video_id"], "config": {"quality": "low"},
                                                    "template_video_id": ids[template]["video_id"]}).get_json()["data"]
            jobs[f"apply:{template}->{footage}"] = (job["job_id"], ids[template]["metadata"])
        # files that break after the upload (storage corruption): the job must fail INVALID_MEDIA
        broken = {"stored_then_truncated": "truncated_10pct_mp4", "stored_then_audio_only": "audio_only_m4a_as_mp4",
                  "stored_then_random": "random_bytes_mp4"}
        storage = app.extensions["clipzy"].storage
        for label, source in broken.items():
            video = _upload(client, corpus["control_ok"]).get_json()["data"]
            with open(corpus[source].path, "rb") as src, open(storage.video_path(f"{video['video_id']}.mp4"), "wb") as dst:
                dst.write(src.read())
            job = client.post("/api/v1/jobs", json={"video_id": video["video_id"]}).get_json()["data"]
            jobs[label] = (job["job_id"], video["metadata"])
        deadline = time.monotonic() + JOBS_TIMEOUT_S
        final: dict[str, dict] = {}
        while len(final) < len(jobs):
            assert time.monotonic() < deadline, f"jobs still running after {JOBS_TIMEOUT_S} s: {set(jobs) - set(final)}"
            for name, (job_id, _meta) in jobs.items():
                if name not in final:
                    job = client.get(f"/api/v1/jobs/{job_id}").get_json()["data"]
                    if job["status"] not in ("queued", "processing"):
                        final[name] = job
            time.sleep(0.5)
    finally:
        stop_workers(app)

    outcomes = {}
    for name, job in final.items():
        job_id, meta = jobs[name]
        outcomes[name] = job["status"] if job["status"] == "completed" else job["error"]["code"]
        if job["status"] == "completed":
            result = client.get(f"/api/v1/jobs/{job_id}/result").get_json()["data"]
            dna = result["style_json"]
            assert dna["resolution"] == {"width": meta["width"], "height": meta["height"]}, name
            # measured on what decoded: a truncated file reports less than its container claims
            decoded, coverage = dna["analysis"]["decoded_duration_seconds"], dna["analysis"]["coverage"]
            assert dna["source_duration_seconds"] == pytest.approx(decoded, abs=0.01), name
            assert coverage == pytest.approx(min(1.0, decoded / meta["duration_seconds"]), abs=0.01), name
            if "truncated" in name:
                assert coverage < 0.9 and dna["extraction_confidence"] <= coverage + 1e-9, (name, decoded, meta)
            elif not name.startswith("apply:") and name not in ("bytes_flipped_mid_stream", "bytes_flipped_vp9"):
                assert coverage == pytest.approx(1.0, abs=0.01), (name, decoded, meta)
            assert 0 <= dna["extraction_confidence"] <= 1
            text = json.dumps(dna)
            assert "NaN" not in text and "Infinity" not in text, name
            if name.startswith("apply:"):
                out = result["output_metadata"]
                assert out["codec"] == "h264" and out["width"] % 2 == 0 and out["height"] % 2 == 0, (name, out)
                assert out["duration_seconds"] > 0, (name, out)
                video = client.get(f"/api/v1/jobs/{job_id}/output")
                assert video.status_code == 200 and video.mimetype == "video/mp4" and len(video.data) > 1000
                video.close()
        else:
            assert job["status"] == "failed", (name, job)
            err = job["error"]
            assert err["code"] == "INVALID_MEDIA", f"{name}: {err}"
            assert len(err["message"]) >= 10 and "/" not in err["message"] and "Traceback" not in err["message"], err
    print("job outcomes:", outcomes)
    assert all(outcomes[label] == "INVALID_MEDIA" for label in broken), outcomes
    assert os.listdir(Path(app.instance_path) / "tmp") == []
