"""Real jobs through the API and the job pool: extract-only and extract-and-apply, end to end."""
from __future__ import annotations

import io
import json
import time

import av
import numpy as np
import pytest

from conftest import make_app, upload_file

pytestmark = pytest.mark.slow

FPS = 25
SIZE = (320, 180)


@pytest.fixture(scope="module")
def template_and_footage(tmp_path_factory, shared_media):
    """A 6 s template (3 real shots, hard cuts at 2 s and 4 s, drums at 120 BPM) and 8 s of real footage."""
    from synth.audio import drum_track
    from synth.video import shared_media_frames, write_video

    d = tmp_path_factory.mktemp("e2e")
    shots = [shared_media_frames(str(shared_media / name), start_s=start, count=2 * FPS, size=SIZE)
             for name, start in (("cockatoo.mp4", 0.5), ("bigbuckbunny.mp4", 0.5), ("cockatoo.mp4", 9.0))]
    for s in shots:
        while len(s) < 2 * FPS:  # short sources: hold the last frame
            s.append(s[-1])
    drums = drum_track(120.0, 6.0, sr=48000, offset_s=0.0)
    template = write_video(d / "template.mp4", [f for s in shots for f in s[: 2 * FPS]], fps=FPS,
                           audio=np.stack([drums.audio, drums.audio], axis=1))
    footage_frames = shared_media_frames(str(shared_media / "cockatoo.mp4"), start_s=1.0, count=8 * 20, size=SIZE)
    from clipzy.engine.media import decode_audio

    track = decode_audio(str(shared_media / "cockatoo.mp4"), sample_rate=48000, layout="stereo")
    footage = write_video(d / "footage.mp4", footage_frames, fps=20, audio=track.samples[48000: 48000 * 9])
    return str(template), str(footage)


@pytest.fixture(scope="module")
def service(tmp_path_factory, prepared_models):
    app = make_app(tmp_path_factory.mktemp("svc") / "instance", CLIPZY_START_RUNNER=True,
                   CLIPZY_MODELS_PATH=str(prepared_models), MAX_CONCURRENT_JOBS=1)
    yield app
    from clipzy import stop_workers

    stop_workers(app)


def upload(client, path, **form):
    resp = upload_file(client, path, **form)
    assert resp.status_code == 200, resp.get_data(as_text=True)
    return resp.get_json()["data"]


def run_to_end(client, body, timeout=400):
    job = client.post("/api/v1/jobs", json=body).get_json()["data"]
    seen_stages, progress = [], []
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        j = client.get(f"/api/v1/jobs/{job['job_id']}").get_json()["data"]
        progress.append(j["progress_percent"])
        if j["current_stage"] and (not seen_stages or seen_stages[-1] != j["current_stage"]):
            seen_stages.append(j["current_stage"])
        if j["status"] in ("completed", "failed", "cancelled"):
            return j, seen_stages, progress
        time.sleep(0.2)
    raise AssertionError(f"job did not finish in {timeout} s: {j}")


def test_extract_job_end_to_end(service, template_and_footage):
    client = service.test_client()
    template, _ = template_and_footage
    t = upload(client, template)
    job, stages, progress = run_to_end(client, {"video_id": t["video_id"], "template_video_id": None})
    assert job["status"] == "completed", job["error"]
    assert progress == sorted(progress) and job["progress_percent"] == 100
    events = service.extensions["clipzy"].store.job_events(job["job_id"])
    assert [s for s in dict.fromkeys(e["stage"] for e in events if e["stage"])] == \
        ["video_analysis", "audio_analysis", "motion_analysis", "style_extraction"]
    res = client.get(f"/api/v1/jobs/{job['job_id']}/result").get_json()["data"]
    dna = res["style_json"]
    from clipzy.engine.dna import validate_dna

    validate_dna(dna)
    assert res["output_video_url"] is None and res["output_metadata"] is None
    assert set(res["artifacts"]) == {"style_dna"}
    assert dna["aspect_ratio"] == "16:9" and dna["frame_rate"] == 25.0
    cuts = [tr["start_ms"] for tr in dna["transitions"] if tr["type"] == "cut"]
    assert any(abs(c - 2000) <= 40 for c in cuts) and any(abs(c - 4000) <= 40 for c in cuts), dna["transitions"]
    assert dna["tempo_bpm"] is not None and abs(dna["tempo_bpm"] - 120) <= 2.4
    assert dna["loudness"]["music_present"] is True and dna["loudness"]["integrated_lufs"] is not None
    assert dna["pacing"]["cuts_on_beat_ratio"] is not None and dna["pacing"]["cuts_on_beat_ratio"] >= 0.5
    assert res["processing_time_seconds"] > 0


def _check_project_bundle(client, job_id: str) -> None:
    """The project zip holds every timeline, the media they name, the soundtrack and the grade;
    the OTIO timeline read back names the footage under media/ and lasts the output."""
    import zipfile

    import opentimelineio as otio

    resp = client.get(f"/api/v1/jobs/{job_id}/artifacts/project")
    assert resp.status_code == 200 and resp.headers["Content-Type"] == "application/zip"
    z = zipfile.ZipFile(io.BytesIO(resp.get_data()))
    resp.close()
    names = set(z.namelist())
    assert {"timeline.otio", "timeline.fcpxml", "timeline.xml", "timeline.edl", "timeline.mlt", "README.txt",
            "audio/soundtrack.wav"} <= names, names
    assert any(n.startswith("media/") for n in names) and any(n.startswith("grade/") for n in names), names
    tl = otio.adapters.read_from_string(z.read("timeline.otio").decode(), adapter_name="otio_json")
    clips = list(tl.video_tracks()[0].find_clips())
    assert clips and all(c.media_reference.target_url in names for c in clips)
    resp = client.get(f"/api/v1/jobs/{job_id}/artifacts/edit_plan")
    plan = json.loads(resp.get_data())
    resp.close()
    assert abs(tl.duration().to_seconds() - plan["output"]["frame_count"] / plan["output"]["frame_rate"]) < 1e-6


def test_apply_job_end_to_end(service, template_and_footage):
    client = service.test_client()
    template, footage = template_and_footage
    t = upload(client, template)
    f = upload(client, footage, template_video_id=t["video_id"])
    job, stages, progress = run_to_end(client, {"video_id": f["video_id"], "config": {"quality": "low"}})
    assert job["status"] == "completed", job["error"]
    assert job["mode"] == "apply" and progress == sorted(progress)
    events = service.extensions["clipzy"].store.job_events(job["job_id"])
    assert [s for s in dict.fromkeys(e["stage"] for e in events if e["stage"])] == \
        ["video_analysis", "audio_analysis", "motion_analysis", "style_extraction", "style_application", "rendering"]
    res = client.get(f"/api/v1/jobs/{job['job_id']}/result").get_json()["data"]
    assert set(res["artifacts"]) == {"output", "style_dna", "lut", "edit_plan", "timeline_otio", "timeline_fcpxml",
                                     "timeline_xml", "timeline_edl", "timeline_mlt", "project"}
    _check_project_bundle(client, job["job_id"])
    meta = res["output_metadata"]
    assert meta["codec"] == "h264" and meta["format"] == "mp4" and meta["has_audio"] is True
    assert abs(meta["width"] / meta["height"] - 16 / 9) < 0.02 and meta["frame_rate"] == 25.0
    # the MP4 plays: Range request, then a full decode from start to end
    path = res["output_video_url"].split("://", 1)[1].split("/", 1)[1]
    part = client.get("/" + path, headers={"Range": "bytes=0-99"})
    assert part.status_code == 206 and len(part.data) == 100 and part.headers["Content-Type"] == "video/mp4"
    part.close()
    whole = client.get("/" + path)
    data = whole.data
    whole.close()
    with av.open(io.BytesIO(data)) as c:
        n = sum(1 for _ in c.decode(video=0))
    assert abs(n - round(meta["duration_seconds"] * 25)) <= 2
    resp = client.get(f"/api/v1/jobs/{job['job_id']}/artifacts/edit_plan")
    plan = json.loads(resp.get_data())
    resp.close()
    assert plan["version"] == "1.0" and plan["segments"]
    cube = client.get(f"/api/v1/jobs/{job['job_id']}/artifacts/lut")
    assert b"LUT_3D_SIZE 33" in cube.data
    cube.close()
