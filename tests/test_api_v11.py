"""The v1.1 HTTP additions (API.md, "v1.1 — several clips, the user's song, saved styles, ..."):
song uploads, saved styles, jobs with several clips / a saved style / a song, what a v1.0
client still sees, the store migration from schema version 1 and the OpenAPI document.

Most tests run on an app without a job pool (jobs stay queued); the styles saved from
completed jobs come from one module-wide app with workers, on clips of a second or two.
"""
from __future__ import annotations

import json
import os
import re
import sqlite3
import time
from pathlib import Path

import av
import numpy as np
import pytest

from conftest import assert_error, assert_ok, files_in, make_app, upload_file

AUD_RE = r"^aud_[0-9a-f]{16}$"
STY_RE = r"^sty_[0-9a-f]{16}$"
HEX_RE = r"^#[0-9a-f]{6}$"
NO_VIDEO = "vid_0000000000000000"
NO_AUDIO = "aud_0000000000000000"
NO_STYLE = "sty_0000000000000000"
NO_JOB = "job_0000000000000000"
#: The Job object of v1.0, and what v1.1 adds to it.
V10_JOB_FIELDS = {"job_id", "video_id", "template_video_id", "mode", "status", "progress_percent", "current_stage",
                  "config", "created_at", "updated_at", "started_at", "completed_at", "error"}
V11_JOB_FIELDS = {"footage_video_ids", "style_id", "music_audio_id"}
V10_CONFIG_DEFAULTS = {"quality": "high", "aspect_ratio": "template", "resolution": None, "duration_seconds": None,
                       "audio_source": "auto", "color_strength": 1.0, "transitions": True, "beat_sync": True}
V11_CONFIG_DEFAULTS = {"footage_order": "keep", "music_start_seconds": None}
STYLE_FIELDS = {"style_id", "name", "source_job_id", "created_at", "summary", "style_json"}
SIZE = (128, 72)  # w, h of every test clip
FPS = 25


# -- media made in code -----------------------------------------------------------------


def tones(seconds: float, sample_rate: int, channels: int) -> np.ndarray:
    """Float32 (n, channels) sines, a different pitch per channel."""
    t = np.arange(int(round(seconds * sample_rate))) / sample_rate
    return np.stack([0.3 * np.sin(2 * np.pi * (440 + 220 * c) * t) for c in range(channels)], axis=1).astype(np.float32)


def write_audio(path: Path, fmt: str, codec: str, audio: np.ndarray, sample_rate: int, bit_rate: int | None = None) -> str:
    """An audio-only file of float audio (n, ch) in container ``fmt`` with encoder ``codec``."""
    layout = "mono" if audio.shape[1] == 1 else "stereo"
    with av.open(str(path), "w", format=fmt) as out:
        stream = out.add_stream(codec, rate=sample_rate, layout=layout)
        if bit_rate:
            stream.bit_rate = bit_rate
        step = stream.codec_context.frame_size or 1024
        for start in range(0, audio.shape[0], step):
            frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(audio[start:start + step].T), format="fltp",
                                               layout=layout)
            frame.sample_rate = sample_rate
            frame.pts = start
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return str(path)


def write_two_track_mkv(path: Path, first: tuple[np.ndarray, int], second: tuple[np.ndarray, int]) -> str:
    """A 1 s grey MKV with two AAC tracks: ``first`` and ``second`` are (audio (n, ch), sample rate)."""
    with av.open(str(path), "w", format="matroska") as out:
        vs = out.add_stream("libx264", rate=FPS)
        vs.width, vs.height, vs.pix_fmt = SIZE[0], SIZE[1], "yuv420p"
        vs.options = {"preset": "ultrafast"}
        tracks = []
        for audio, rate in (first, second):
            layout = "mono" if audio.shape[1] == 1 else "stereo"
            tracks.append((out.add_stream("aac", rate=rate, layout=layout), audio, rate, layout))
        for i in range(FPS):
            frame = av.VideoFrame.from_ndarray(np.full((SIZE[1], SIZE[0], 3), 90 + i, np.uint8), format="rgb24")
            frame.pts = i
            for packet in vs.encode(frame):
                out.mux(packet)
        for packet in vs.encode():
            out.mux(packet)
        for stream, audio, rate, layout in tracks:
            for start in range(0, audio.shape[0], 1024):
                af = av.AudioFrame.from_ndarray(np.ascontiguousarray(audio[start:start + 1024].T), format="fltp",
                                                layout=layout)
                af.sample_rate = rate
                af.pts = start
                for packet in stream.encode(af):
                    out.mux(packet)
            for packet in stream.encode():
                out.mux(packet)
    return str(path)


def shot(rgb: tuple[int, int, int], frames: int, seed: int) -> list[np.ndarray]:
    """``frames`` noisy frames around one colour (one shot)."""
    rng = np.random.default_rng(seed)
    return [np.clip(rng.normal(rgb, 12, (SIZE[1], SIZE[0], 3)), 0, 255).astype(np.uint8) for _ in range(frames)]


@pytest.fixture(scope="module")
def songs(tmp_path_factory):
    """Songs in each container PyAV writes, with the metadata API.md says they have.

    {name: (path, expected metadata without bitrate_kbps)}, plus a two-track MKV whose first
    track is the song, and a 4 s drum track (96 BPM) to cut to.
    """
    from synth.audio import drum_track
    from synth.video import write_audio_mp4, write_wav

    d = tmp_path_factory.mktemp("songs")
    out = {
        "song.wav": (write_wav(d / "song.wav", tones(1.5, 44100, 2), sample_rate=44100),
                     {"duration_seconds": 1.5, "sample_rate": 44100, "channels": 2, "codec": "pcm_s16le", "format": "wav"}),
        "song.mp3": (write_audio(d / "song.mp3", "mp3", "libmp3lame", tones(1.5, 44100, 2), 44100, 128_000),
                     {"duration_seconds": 1.5, "sample_rate": 44100, "channels": 2, "codec": "mp3", "format": "mp3"}),
        "song.flac": (write_audio(d / "song.flac", "flac", "flac", tones(1.25, 32000, 1), 32000),
                      {"duration_seconds": 1.25, "sample_rate": 32000, "channels": 1, "codec": "flac", "format": "flac"}),
        "song.m4a": (write_audio_mp4(str(d / "song.m4a"), tones(2.0, 22050, 1), sample_rate=22050),
                     {"duration_seconds": 2.0, "sample_rate": 22050, "channels": 1, "codec": "aac", "format": "m4a"}),
        "song.ogg": (write_audio(d / "song.ogg", "ogg", "libopus", tones(1.5, 48000, 2), 48000, 64_000),
                     {"duration_seconds": 1.5, "sample_rate": 48000, "channels": 2, "codec": "opus", "format": "ogg"}),
        "song.webm": (write_audio(d / "song.webm", "webm", "libopus", tones(1.5, 48000, 2), 48000, 64_000),
                      {"duration_seconds": 1.5, "sample_rate": 48000, "channels": 2, "codec": "opus", "format": "webm"}),
    }
    out["two_tracks.mkv"] = (write_two_track_mkv(d / "two_tracks.mkv", (tones(1.0, 32000, 1), 32000),
                                                 (tones(1.0, 48000, 2), 48000)),
                             {"duration_seconds": 1.0, "sample_rate": 32000, "channels": 1, "codec": "aac", "format": "mkv"})
    drums = drum_track(96.0, 4.0, sr=44100, offset_s=0.0)
    out["drums.wav"] = (write_wav(d / "drums.wav", np.stack([drums.audio, drums.audio], axis=1), sample_rate=44100),
                        {"duration_seconds": 4.0, "sample_rate": 44100, "channels": 2, "codec": "pcm_s16le", "format": "wav"})
    return out


@pytest.fixture(scope="module")
def footage(tmp_path_factory):
    """A 2 s template (red shot, hard cut at 1 s, blue shot; drums at 120 BPM) and three 1 s clips."""
    from synth.audio import drum_track
    from synth.video import write_video

    d = tmp_path_factory.mktemp("footage")
    drums = drum_track(120.0, 2.0, sr=48000, offset_s=0.0)
    template = write_video(d / "template.mp4", shot((200, 60, 40), FPS, 1) + shot((40, 80, 200), FPS, 2), fps=FPS,
                           audio=np.stack([drums.audio, drums.audio], axis=1))
    clips = [write_video(d / f"clip{i}.mp4", shot(rgb, FPS, 10 + i), fps=FPS)
             for i, rgb in enumerate([(90, 160, 90), (160, 160, 60), (120, 120, 120)])]
    return {"template": template, "clips": clips}


# -- request helpers ---------------------------------------------------------------------


def upload_video(client, path, **form) -> str:
    """Upload a video; its video_id."""
    return assert_ok(upload_file(client, path, **form), "Video uploaded successfully")["video_id"]


def upload_song(client, path, name=None, **form):
    """POST a song to /api/v1/audio/upload; the response."""
    return upload_file(client, path, name=name, url="/api/v1/audio/upload", **form)


def create_job(client, body, headers=None):
    return client.post("/api/v1/jobs", json=body, headers=headers or {})


def save_style(client, name, dna):
    """Save ``dna`` under ``name``; the Style."""
    return assert_ok(client.post("/api/v1/styles", json={"name": name, "style_json": dna}), "Style saved")


def wait_done(client, job_id: str, timeout: float = 180.0) -> dict:
    """Poll a job until it is terminal; the Job."""
    end = time.monotonic() + timeout
    while True:
        job = assert_ok(client.get(f"/api/v1/jobs/{job_id}"))
        if job["status"] in ("completed", "failed", "cancelled") or time.monotonic() > end:
            return job
        time.sleep(0.05)


def summary_of(dna: dict) -> dict:
    """The Style summary API.md derives from a Style DNA."""
    return {"cut_frequency": dna["cut_frequency"], "tempo_bpm": dna["tempo_bpm"],
            "primary_transition": dna["primary_transition"], "aspect_ratio": dna["aspect_ratio"],
            "palette": [p["hex"] for p in dna["color_profile"]["palette"]]}


#: The Style DNA keys that measure the video (not when or how fast it was measured).
MEASURED_KEYS = ("aspect_ratio", "frame_rate", "resolution", "source_duration_seconds", "shots", "transitions",
                 "cut_frequency", "pacing", "tempo_bpm", "beats", "loudness", "color_profile", "primary_transition")


# -- the module's app with workers, and its completed jobs ---------------------------------


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    from clipzy import stop_workers

    app = make_app(tmp_path_factory.mktemp("v11") / "instance", CLIPZY_START_RUNNER=True, MAX_CONCURRENT_JOBS=2)
    yield app
    stop_workers(app)


@pytest.fixture(scope="module")
def completed(service, footage):
    """An extract job on the template and an apply job (one clip, the template), both completed."""
    client = service.test_client()
    t = upload_video(client, footage["template"])
    clip = upload_video(client, footage["clips"][0])
    extract = assert_ok(create_job(client, {"video_id": t, "template_video_id": None}))
    apply = assert_ok(create_job(client, {"footage_video_ids": [clip], "template_video_id": t,
                                          "config": {"quality": "low"}}))
    for job in (extract, apply):
        done = wait_done(client, job["job_id"])
        assert done["status"] == "completed", done["error"]
    return {"template": t, "clip": clip, "extract": extract["job_id"], "apply": apply["job_id"],
            "extract_result": assert_ok(client.get(f"/api/v1/jobs/{extract['job_id']}/result")),
            "apply_result": assert_ok(client.get(f"/api/v1/jobs/{apply['job_id']}/result"))}


@pytest.fixture(scope="module")
def real_dna(completed) -> dict:
    """The template's Style DNA as the engine measured it (two shots, one cut, 120 BPM)."""
    dna = completed["extract_result"]["style_json"]
    assert dna["primary_transition"]["type"] == "cut" and len(dna["shots"]) == 2 and dna["tempo_bpm"]
    return dna


# == POST /api/v1/audio/upload, GET /api/v1/audio/{id} =====================================


@pytest.mark.parametrize("name", ["song.wav", "song.mp3", "song.flac", "song.m4a", "song.ogg", "song.webm"])
def test_audio_upload_each_format(app, client, songs, name):
    path, expected = songs[name]
    data = assert_ok(upload_song(client, path), "Audio uploaded successfully")
    assert re.match(AUD_RE, data["audio_id"]), data["audio_id"]
    assert set(data) == {"audio_id", "filename", "file_size_bytes", "metadata", "uploaded_at", "storage_url"}
    assert data["filename"] == name
    assert data["file_size_bytes"] == os.path.getsize(path)
    m = data["metadata"]
    assert set(m) == {"duration_seconds", "sample_rate", "channels", "codec", "format", "bitrate_kbps"}
    assert (m["sample_rate"], m["channels"], m["format"]) == (expected["sample_rate"], expected["channels"], expected["format"])
    assert m["codec"] == expected["codec"], m["codec"]  # the codec's name, not the decoder's ("mp3float")
    assert data["storage_url"].endswith("." + expected["format"])  # stored under its probed format
    assert abs(m["duration_seconds"] - expected["duration_seconds"]) <= 0.05, m
    # the bitrate is the file's: its size over its duration
    measured_kbps = os.path.getsize(path) * 8 / expected["duration_seconds"] / 1000
    assert isinstance(m["bitrate_kbps"], int) and abs(m["bitrate_kbps"] - measured_kbps) <= max(3.0, 0.1 * measured_kbps), \
        (m["bitrate_kbps"], measured_kbps)
    assert data["uploaded_at"].endswith("Z") and data["storage_url"].startswith("file://")
    stored = Path(data["storage_url"][len("file://"):])
    assert stored.parent == Path(app.instance_path).resolve() / "uploads" and data["audio_id"] in stored.name
    assert stored.read_bytes() == Path(path).read_bytes()
    assert assert_ok(client.get(f"/api/v1/audio/{data['audio_id']}")) == data


def test_audio_upload_wav_metadata_is_exact(client, songs):
    """PCM has no encoder slack: every number is the file's own."""
    m = assert_ok(upload_song(client, songs["song.wav"][0]))["metadata"]
    assert m == {"duration_seconds": 1.5, "sample_rate": 44100, "channels": 2, "codec": "pcm_s16le", "format": "wav",
                 "bitrate_kbps": round(44100 * 2 * 16 / 1000)}


def test_audio_upload_probes_the_bytes_not_the_name(client, songs):
    """A WAV named .mp3 is measured as the WAV it is."""
    data = assert_ok(upload_song(client, songs["song.wav"][0], name="really.mp3"), "Audio uploaded successfully")
    assert data["filename"] == "really.mp3"
    assert (data["metadata"]["format"], data["metadata"]["codec"]) == ("wav", "pcm_s16le")


def test_audio_upload_takes_a_videos_first_audio_track(client, small_clips, songs):
    mp4 = assert_ok(upload_song(client, small_clips["mp4"]), "Audio uploaded successfully")
    m = mp4["metadata"]
    assert (m["sample_rate"], m["channels"], m["codec"], m["format"]) == (48000, 1, "aac", "mp4")
    assert abs(m["duration_seconds"] - 1.0) <= 0.05
    assert mp4["file_size_bytes"] == os.path.getsize(small_clips["mp4"])
    m = assert_ok(upload_song(client, songs["two_tracks.mkv"][0]))["metadata"]
    # the first track (mono, 32 kHz), not the second (stereo, 48 kHz)
    assert (m["sample_rate"], m["channels"], m["codec"], m["format"]) == (32000, 1, "aac", "mkv")


def test_audio_upload_missing_file_field(client, songs):
    import io

    body = assert_error(client.post("/api/v1/audio/upload", data={"note": "hi"}, content_type="multipart/form-data"),
                        422, "MISSING_FIELD")
    assert "file" in body["error"]["fields"]
    with open(songs["song.wav"][0], "rb") as fh:
        data = {"song": (io.BytesIO(fh.read()), "song.wav")}  # a file under another name is a missing `file`
    body = assert_error(client.post("/api/v1/audio/upload", data=data, content_type="multipart/form-data"),
                        422, "MISSING_FIELD")
    assert "file" in body["error"]["fields"]
    assert_error(client.post("/api/v1/audio/upload", json={"file": "x"}), 422, "MISSING_FIELD")
    # with the file there, an unknown form field fails validation as for videos
    body = assert_error(upload_song(client, songs["song.wav"][0], bogus="1"), 422, "VALIDATION_ERROR")
    assert "bogus" in body["error"]["fields"]


def test_audio_upload_refuses_what_has_no_audio_and_keeps_nothing(app, client, small_clips, songs, tmp_path):
    body = assert_error(upload_song(client, small_clips["rotated"]), 422, "UNSUPPORTED_FORMAT")  # a video without sound
    assert "audio" in body["error"]["detail"]
    garbage = tmp_path / "garbage.mp3"
    garbage.write_bytes(np.random.default_rng(7).bytes(40_000))
    assert_error(upload_song(client, garbage), 422, "UNSUPPORTED_FORMAT")
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    assert_error(upload_song(client, empty), 422, "UNSUPPORTED_FORMAT")
    truncated = tmp_path / "cut.m4a"
    truncated.write_bytes(Path(songs["song.m4a"][0]).read_bytes()[:200])
    assert_error(upload_song(client, truncated), 422, "UNSUPPORTED_FORMAT")
    assert_error(upload_song(client, songs["song.wav"][0], name="song.txt"), 422, "UNSUPPORTED_FORMAT")
    assert files_in(app, "uploads") == [] and files_in(app, "tmp") == []


def test_audio_upload_over_size_limit_413_and_nothing_kept(tmp_path, songs):
    app = make_app(tmp_path / "i", MAX_FILE_SIZE_MB=0.01)  # 10485 bytes
    client = app.test_client()
    path = songs["song.wav"][0]
    assert os.path.getsize(path) > 200_000
    assert_error(upload_song(client, path), 413, "FILE_TOO_LARGE")
    mid = tmp_path / "mid.wav"  # just over the limit, inside the multipart slack: the size check cuts it
    mid.write_bytes(Path(path).read_bytes()[: 10_485 + 100])
    assert_error(upload_song(client, mid), 413, "FILE_TOO_LARGE")
    assert files_in(app, "uploads") == [] and files_in(app, "tmp") == []
    small = tmp_path / "small.wav"
    from synth.video import write_wav

    write_wav(small, tones(0.1, 16000, 1), sample_rate=16000)  # 3.2 kB: under the limit
    assert assert_ok(upload_song(client, small))["file_size_bytes"] == os.path.getsize(small)


def test_audio_upload_media_limits(tmp_path, songs, small_clips):
    app = make_app(tmp_path / "i", MAX_VIDEO_DURATION_SECONDS=1.2)
    client = app.test_client()
    body = assert_error(upload_song(client, songs["song.wav"][0]), 422, "MEDIA_LIMIT_EXCEEDED")  # 1.5 s
    assert "duration" in body["error"]["detail"]
    assert_error(upload_song(client, songs["song.m4a"][0]), 422, "MEDIA_LIMIT_EXCEEDED")  # 2.0 s
    assert files_in(app, "uploads") == [] and files_in(app, "tmp") == []
    assert abs(assert_ok(upload_song(client, small_clips["mp4"]))["metadata"]["duration_seconds"] - 1.0) <= 0.05
    app = make_app(tmp_path / "j", MAX_VIDEO_DURATION_SECONDS=0.5)
    assert_error(upload_song(app.test_client(), small_clips["mp4"]), 422, "MEDIA_LIMIT_EXCEEDED")  # a video's track too
    assert files_in(app, "uploads") == []


def test_songs_survive_a_restart(tmp_path, songs):
    """The start-up sweep removes uploads no row refers to; a song has its row and stays."""
    from clipzy import stop_workers

    app = make_app(tmp_path / "i")
    data = assert_ok(upload_song(app.test_client(), songs["song.flac"][0]))
    stray = Path(app.instance_path) / "uploads" / "stray.wav"
    stray.write_bytes(b"left behind")
    again = make_app(tmp_path / "i", CLIPZY_START_RUNNER=True)  # the service starts again on the same folder
    try:
        assert not stray.exists()  # the sweep ran ...
        assert assert_ok(again.test_client().get(f"/api/v1/audio/{data['audio_id']}")) == data
        assert Path(data["storage_url"][len("file://"):]).read_bytes() == Path(songs["song.flac"][0]).read_bytes()
    finally:
        stop_workers(again)


def test_get_unknown_audio(client):
    body = assert_error(client.get(f"/api/v1/audio/{NO_AUDIO}"), 404, "AUDIO_NOT_FOUND")
    assert NO_AUDIO in body["error"]["detail"]
    assert_error(client.get("/api/v1/audio/nope"), 404, "AUDIO_NOT_FOUND")


# == /api/v1/styles ======================================================================


def check_style(style: dict, *, name: str, source_job_id: str | None, dna: dict) -> None:
    """A Style object as API.md has it, for ``dna`` saved under ``name``."""
    assert set(style) == STYLE_FIELDS
    assert re.match(STY_RE, style["style_id"]), style["style_id"]
    assert style["name"] == name and style["source_job_id"] == source_job_id
    assert style["created_at"].endswith("Z")
    assert style["style_json"] == dna
    assert style["summary"] == summary_of(dna)
    assert style["summary"]["palette"] and all(re.match(HEX_RE, c) for c in style["summary"]["palette"])


def test_save_style_from_a_completed_extract_job(service, completed, real_dna):
    client = service.test_client()
    style = assert_ok(client.post("/api/v1/styles", json={"name": "Red then blue", "job_id": completed["extract"]}),
                      "Style saved")
    check_style(style, name="Red then blue", source_job_id=completed["extract"], dna=real_dna)
    s = style["summary"]
    assert s["primary_transition"]["type"] == "cut" and s["aspect_ratio"] == "16:9"
    assert s["cut_frequency"] == pytest.approx(30.0, abs=1.0)  # one cut in 2 s
    assert s["tempo_bpm"] == pytest.approx(120.0, abs=2.4)
    assert assert_ok(client.get(f"/api/v1/styles/{style['style_id']}")) == style


def test_save_style_from_a_completed_apply_job_is_the_templates(service, completed, real_dna):
    client = service.test_client()
    apply_dna = completed["apply_result"]["style_json"]
    style = assert_ok(client.post("/api/v1/styles", json={"name": "From apply", "job_id": completed["apply"]}),
                      "Style saved")
    check_style(style, name="From apply", source_job_id=completed["apply"], dna=apply_dna)
    # the template's DNA (2 s, two shots), not the footage's (one 1 s shot)
    assert {k: apply_dna[k] for k in MEASURED_KEYS} == {k: real_dna[k] for k in MEASURED_KEYS}
    assert apply_dna["source_duration_seconds"] == 2.0 and len(apply_dna["shots"]) == 2


def test_save_style_from_style_json(client, real_dna):
    style = save_style(client, "Given", real_dna)
    check_style(style, name="Given", source_job_id=None, dna=real_dna)
    assert assert_ok(client.get(f"/api/v1/styles/{style['style_id']}"), "Style retrieved") == style


def test_save_style_refuses_style_json_that_is_not_a_style_dna(client, real_dna):
    bad_tempo = {**real_dna, "tempo_bpm": "fast"}
    body = assert_error(client.post("/api/v1/styles", json={"name": "x", "style_json": bad_tempo}), 422, "VALIDATION_ERROR")
    assert "tempo_bpm" in json.dumps(body["error"]["fields"]["style_json"])
    missing = {k: v for k, v in real_dna.items() if k != "shots"}
    body = assert_error(client.post("/api/v1/styles", json={"name": "x", "style_json": missing}), 422, "VALIDATION_ERROR")
    assert "shots" in json.dumps(body["error"]["fields"]["style_json"])
    extra = {**real_dna, "mood": "happy"}  # the Style DNA has no unknown keys
    body = assert_error(client.post("/api/v1/styles", json={"name": "x", "style_json": extra}), 422, "VALIDATION_ERROR")
    assert "mood" in json.dumps(body["error"]["fields"]["style_json"])
    bad_hex = json.loads(json.dumps(real_dna))
    bad_hex["color_profile"]["palette"][0]["hex"] = "red"
    assert_error(client.post("/api/v1/styles", json={"name": "x", "style_json": bad_hex}), 422, "VALIDATION_ERROR")
    for not_dna in ("abc", [1, 2], None, {}):
        body = assert_error(client.post("/api/v1/styles", json={"name": "x", "style_json": not_dna}), 422, "VALIDATION_ERROR")
        assert "style_json" in body["error"]["fields"]
    assert assert_ok(client.get("/api/v1/styles"))["total"] == 0  # nothing was saved


def test_save_style_needs_exactly_one_of_job_id_and_style_json(service, completed, real_dna):
    client = service.test_client()
    before = assert_ok(client.get("/api/v1/styles"))["total"]
    both = {"name": "x", "job_id": completed["extract"], "style_json": real_dna}
    assert "fields" in assert_error(client.post("/api/v1/styles", json=both), 422, "VALIDATION_ERROR")["error"]
    assert "fields" in assert_error(client.post("/api/v1/styles", json={"name": "x"}), 422, "VALIDATION_ERROR")["error"]
    assert assert_ok(client.get("/api/v1/styles"))["total"] == before


def test_style_name_is_1_to_100_characters(client, real_dna):
    for name in ("", "n" * 101):
        body = assert_error(client.post("/api/v1/styles", json={"name": name, "style_json": real_dna}), 422, "VALIDATION_ERROR")
        assert "name" in body["error"]["fields"]
    body = assert_error(client.post("/api/v1/styles", json={"style_json": real_dna}), 422, "VALIDATION_ERROR")
    assert "name" in body["error"]["fields"]
    assert_error(client.post("/api/v1/styles", json={"name": 7, "style_json": real_dna}), 422, "VALIDATION_ERROR")
    assert save_style(client, "n", real_dna)["name"] == "n"
    assert save_style(client, "ü" * 100, real_dna)["name"] == "ü" * 100


def test_save_style_request_errors(client, real_dna):
    assert_error(client.post("/api/v1/styles", data="{", content_type="application/json"), 400, "INVALID_JSON")
    assert_error(client.post("/api/v1/styles", data="name=x", content_type="application/x-www-form-urlencoded"),
                 400, "INVALID_JSON")
    for not_an_object in ([1, 2], "name", 5, None):  # JSON, but not an object: as for POST /jobs
        assert_error(client.post("/api/v1/styles", data=json.dumps(not_an_object), content_type="application/json"),
                     400, "INVALID_JSON")
    body = assert_error(client.post("/api/v1/styles", json={"name": "x", "style_json": real_dna, "tags": []}),
                        422, "VALIDATION_ERROR")
    assert "tags" in body["error"]["fields"]


def test_save_style_from_a_job_that_is_not_completed(app, client, small_clips):
    from clipzy.store import JobStatus

    svc = app.extensions["clipzy"]
    v = upload_video(client, small_clips["mp4"])
    body = assert_error(client.post("/api/v1/styles", json={"name": "x", "job_id": NO_JOB}), 404, "JOB_NOT_FOUND")
    assert NO_JOB in body["error"]["detail"]
    queued = assert_ok(create_job(client, {"video_id": v, "template_video_id": None}))["job_id"]
    body = assert_error(client.post("/api/v1/styles", json={"name": "x", "job_id": queued}), 409, "RESULT_NOT_READY")
    assert "queued" in body["error"]["detail"]
    assert svc.store.claim_next_job("test")["id"] == queued
    body = assert_error(client.post("/api/v1/styles", json={"name": "x", "job_id": queued}), 409, "RESULT_NOT_READY")
    assert "processing" in body["error"]["detail"]
    svc.store.finish_job(queued, status=JobStatus.FAILED, error={"code": "PROCESSING_ERROR", "stage": None, "message": "x"})
    body = assert_error(client.post("/api/v1/styles", json={"name": "x", "job_id": queued}), 409, "RESULT_NOT_READY")
    assert "failed" in body["error"]["detail"]
    cancelled = assert_ok(create_job(client, {"video_id": v, "template_video_id": None, "config": {"quality": "low"}}))
    assert_ok(client.post(f"/api/v1/jobs/{cancelled['job_id']}/cancel"))
    body = assert_error(client.post("/api/v1/styles", json={"name": "x", "job_id": cancelled["job_id"]}),
                        409, "RESULT_NOT_READY")
    assert "cancelled" in body["error"]["detail"]
    assert assert_ok(client.get("/api/v1/styles"))["total"] == 0


def test_list_styles_paginated_newest_first_without_style_json(client, real_dna):
    empty = assert_ok(client.get("/api/v1/styles"), "Styles retrieved")
    assert empty == {"styles": [], "total": 0, "page": 1, "page_size": 10, "total_pages": 0}
    saved = [save_style(client, f"style {i}", real_dna) for i in range(3)]
    page = assert_ok(client.get("/api/v1/styles?page_size=2"), "Styles retrieved")
    assert (page["total"], page["page"], page["page_size"], page["total_pages"]) == (3, 1, 2, 2)
    assert [s["style_id"] for s in page["styles"]] == [saved[2]["style_id"], saved[1]["style_id"]]
    for brief in page["styles"]:
        assert set(brief) == STYLE_FIELDS - {"style_json"}
    full = {s["style_id"]: s for s in saved}
    assert all(brief == {k: v for k, v in full[brief["style_id"]].items() if k != "style_json"} for brief in page["styles"])
    last = assert_ok(client.get("/api/v1/styles?page_size=2&page=2"))
    assert [s["style_id"] for s in last["styles"]] == [saved[0]["style_id"]] and last["page"] == 2
    past = assert_ok(client.get("/api/v1/styles?page=9"))
    assert past["styles"] == [] and past["total"] == 3 and past["total_pages"] == 1
    for q in ("page_size=0", "page_size=101", "page=0", "page=x", "sort=asc"):
        assert_error(client.get(f"/api/v1/styles?{q}"), 422, "VALIDATION_ERROR")


def test_get_and_delete_style(client, real_dna, small_clips):
    keep = save_style(client, "keep", real_dna)
    gone = save_style(client, "gone", real_dna)
    assert assert_ok(client.get(f"/api/v1/styles/{gone['style_id']}")) == gone
    deleted = client.delete(f"/api/v1/styles/{gone['style_id']}")
    assert_ok(deleted, "Style deleted")
    body = assert_error(client.get(f"/api/v1/styles/{gone['style_id']}"), 404, "STYLE_NOT_FOUND")
    assert gone["style_id"] in body["error"]["detail"]
    assert_error(client.delete(f"/api/v1/styles/{gone['style_id']}"), 404, "STYLE_NOT_FOUND")
    listed = assert_ok(client.get("/api/v1/styles"))
    assert listed["total"] == 1 and [s["style_id"] for s in listed["styles"]] == [keep["style_id"]]
    assert assert_ok(client.get(f"/api/v1/styles/{keep['style_id']}")) == keep
    assert_error(client.get(f"/api/v1/styles/{NO_STYLE}"), 404, "STYLE_NOT_FOUND")
    assert_error(client.delete(f"/api/v1/styles/{NO_STYLE}"), 404, "STYLE_NOT_FOUND")
    # a deleted style cannot be applied any more
    assert_error(create_job(client, {"video_id": upload_video(client, small_clips["mp4"]), "style_id": gone["style_id"]}),
                 404, "STYLE_NOT_FOUND")


def test_job_with_a_saved_style_several_clips_and_a_song(service, footage, songs, real_dna):
    """End to end: a saved style (deleted while the job waits) on two clips cut to the user's song.

    The job keeps its own copy: its Style DNA is the saved one (not re-extracted, so the marker
    ``created_at`` of the saved copy comes back), even after the style is deleted.
    """
    client = service.test_client()
    a, b = (upload_video(client, p) for p in footage["clips"][1:])
    song = assert_ok(upload_song(client, songs["drums.wav"][0]))["audio_id"]
    saved = save_style(client, "Cut to the song", {**real_dna, "created_at": "2001-02-03T04:05:06Z"})
    job = assert_ok(create_job(client, {"footage_video_ids": [a, b], "style_id": saved["style_id"], "music_audio_id": song,
                                        "config": {"quality": "low", "audio_source": "music", "music_start_seconds": 0}}),
                    "Job created")
    assert (job["mode"], job["video_id"], job["footage_video_ids"]) == ("apply", a, [a, b])
    assert (job["template_video_id"], job["style_id"], job["music_audio_id"]) == (None, saved["style_id"], song)
    assert job["config"]["audio_source"] == "music" and job["config"]["music_start_seconds"] == 0
    assert_ok(client.delete(f"/api/v1/styles/{saved['style_id']}"), "Style deleted")
    assert_error(client.get(f"/api/v1/styles/{saved['style_id']}"), 404, "STYLE_NOT_FOUND")
    done = wait_done(client, job["job_id"])
    assert done["status"] == "completed", done["error"]
    res = assert_ok(client.get(f"/api/v1/jobs/{job['job_id']}/result"), "Job result retrieved")
    assert res["style_json"] == saved["style_json"] and res["style_json"]["created_at"] == "2001-02-03T04:05:06Z"
    assert (res["footage_video_ids"], res["style_id"], res["music_audio_id"]) == ([a, b], saved["style_id"], song)
    assert set(res["artifacts"]) == {"output", "style_dna", "lut", "edit_plan", "timeline_otio", "timeline_fcpxml",
                                     "timeline_xml", "timeline_edl", "timeline_mlt", "project"}
    resp = client.get(f"/api/v1/jobs/{job['job_id']}/artifacts/edit_plan")
    plan = json.loads(resp.get_data())
    resp.close()
    assert plan["soundtrack"]["audio_id"] == song
    assert {s["video_id"] for s in plan["segments"]} <= {a, b}


# == POST /api/v1/jobs: the v1.1 fields ======================================================


@pytest.fixture
def clips(client, small_clips, songs):
    """A template t and clips v1, v2, v3 (no upload template), songs m1, m2: their ids."""
    ids = {"t": upload_video(client, small_clips["mp4"])}
    for key, ext in (("v1", "mov"), ("v2", "mkv"), ("v3", "avi")):
        ids[key] = upload_video(client, small_clips[ext])
    ids["m1"] = assert_ok(upload_song(client, songs["song.wav"][0]))["audio_id"]
    ids["m2"] = assert_ok(upload_song(client, songs["song.flac"][0]))["audio_id"]
    return ids


def test_footage_video_ids_alone(client, clips):
    t, v1, v2, v3 = clips["t"], clips["v1"], clips["v2"], clips["v3"]
    job = assert_ok(create_job(client, {"footage_video_ids": [v2, v1, v3], "template_video_id": t}), "Job created")
    assert set(job) == V10_JOB_FIELDS | V11_JOB_FIELDS
    assert job["video_id"] == v2 and job["footage_video_ids"] == [v2, v1, v3]
    assert (job["template_video_id"], job["mode"], job["status"]) == (t, "apply", "queued")
    assert job["style_id"] is None and job["music_audio_id"] is None
    assert job["config"] == {**V10_CONFIG_DEFAULTS, **V11_CONFIG_DEFAULTS}
    assert assert_ok(client.get(f"/api/v1/jobs/{job['job_id']}")) == job


def test_footage_video_ids_with_video_id(client, clips):
    t, v1, v2 = clips["t"], clips["v1"], clips["v2"]
    job = assert_ok(create_job(client, {"video_id": v1, "footage_video_ids": [v1, v2], "template_video_id": t}))
    assert job["video_id"] == v1 and job["footage_video_ids"] == [v1, v2]
    for wrong in (v2, clips["v3"]):  # another element, or not in the list at all
        body = assert_error(create_job(client, {"video_id": wrong, "footage_video_ids": [v1, v2], "template_video_id": t}),
                            422, "VALIDATION_ERROR")
        assert "video_id" in body["error"]["fields"]


def test_footage_video_ids_bounds_and_repeats(app, client, clips):
    t, v1, v2 = clips["t"], clips["v1"], clips["v2"]
    for ids in ([], [v1, v2, v1], [v1, v1]):
        body = assert_error(create_job(client, {"footage_video_ids": ids, "template_video_id": t}), 422, "VALIDATION_ERROR")
        assert "footage_video_ids" in body["error"]["fields"], ids
    too_many = [f"vid_{i:016x}" for i in range(51)]
    body = assert_error(create_job(client, {"footage_video_ids": too_many, "template_video_id": t}), 422, "VALIDATION_ERROR")
    assert "footage_video_ids" in body["error"]["fields"]
    assert_error(create_job(client, {"footage_video_ids": v1, "template_video_id": t}), 422, "VALIDATION_ERROR")
    assert_error(create_job(client, {"footage_video_ids": [v1, None], "template_video_id": t}), 422, "VALIDATION_ERROR")
    # 50 clips is the most, and allowed
    svc = app.extensions["clipzy"]
    row = svc.store.get_video(v1)
    fifty = [v1] + [svc.store.insert_video(video_id=f"vid_{i:016x}", filename="c.mov", file_size_bytes=row["file_size_bytes"],
                                           metadata=row["metadata"], storage_name=row["storage_name"],
                                           template_video_id=None, webhook_url=None)["id"] for i in range(1, 50)]
    job = assert_ok(create_job(client, {"footage_video_ids": fifty, "template_video_id": t}))
    assert job["footage_video_ids"] == fifty and job["video_id"] == v1
    assert assert_ok(client.get("/api/v1/jobs"))["total"] == 1


def test_unknown_footage_clip_is_named(client, clips):
    t, v1 = clips["t"], clips["v1"]
    for ids in ([v1, NO_VIDEO], [NO_VIDEO, v1]):
        body = assert_error(create_job(client, {"footage_video_ids": ids, "template_video_id": t}), 404, "VIDEO_NOT_FOUND")
        assert NO_VIDEO in body["error"]["detail"]
    assert assert_ok(client.get("/api/v1/jobs"))["total"] == 0


def test_footage_video_ids_need_a_template_or_a_style(client, clips):
    v1, v2 = clips["v1"], clips["v2"]
    for body in ({"footage_video_ids": [v1, v2]}, {"footage_video_ids": [v1]},
                 {"footage_video_ids": [v1, v2], "template_video_id": None}):
        err = assert_error(create_job(client, body), 422, "VALIDATION_ERROR")
        assert err["error"]["fields"], body
    # a v1.0 request without a template is still an extract job
    assert assert_ok(create_job(client, {"video_id": v1}))["mode"] == "extract"


def test_style_id_rules(client, clips, real_dna, small_clips):
    t, v1, v2 = clips["t"], clips["v1"], clips["v2"]
    style = save_style(client, "s", real_dna)["style_id"]
    body = assert_error(create_job(client, {"footage_video_ids": [v1], "style_id": style, "template_video_id": t}),
                        422, "VALIDATION_ERROR")
    assert "style_id" in body["error"]["fields"]
    body = assert_error(create_job(client, {"video_id": v1, "style_id": style, "config": {"audio_source": "template"}}),
                        422, "VALIDATION_ERROR")
    assert body["error"]["fields"]
    body = assert_error(create_job(client, {"video_id": v1, "style_id": NO_STYLE}), 404, "STYLE_NOT_FOUND")
    assert NO_STYLE in body["error"]["detail"]
    job = assert_ok(create_job(client, {"video_id": v1, "style_id": style}))
    assert (job["mode"], job["template_video_id"], job["style_id"], job["footage_video_ids"]) == ("apply", None, style, [v1])
    for source in ("auto", "footage", "mix"):
        j = assert_ok(create_job(client, {"footage_video_ids": [v2, v1], "style_id": style, "config": {"audio_source": source}}))
        assert j["config"]["audio_source"] == source and j["style_id"] == style
    # the upload's template is not used when a style is given
    v = upload_video(client, small_clips["webm"], template_video_id=t)
    assert assert_ok(create_job(client, {"video_id": v, "style_id": style}))["template_video_id"] is None


def test_music_audio_id(client, clips):
    t, v1 = clips["t"], clips["v1"]
    body = assert_error(create_job(client, {"video_id": v1, "template_video_id": t, "music_audio_id": NO_AUDIO}),
                        404, "AUDIO_NOT_FOUND")
    assert NO_AUDIO in body["error"]["detail"]
    job = assert_ok(create_job(client, {"footage_video_ids": [v1], "template_video_id": t, "music_audio_id": clips["m1"],
                                        "config": {"audio_source": "music"}}))
    assert job["music_audio_id"] == clips["m1"] and job["config"]["audio_source"] == "music"
    assert assert_ok(client.get(f"/api/v1/jobs/{job['job_id']}"))["music_audio_id"] == clips["m1"]
    mix = assert_ok(create_job(client, {"video_id": v1, "template_video_id": t, "music_audio_id": clips["m2"],
                                        "config": {"audio_source": "mix"}}))
    assert mix["music_audio_id"] == clips["m2"] and mix["config"]["audio_source"] == "mix"
    # "music" is the song alone: there must be a song
    assert_error(create_job(client, {"video_id": v1, "template_video_id": t, "config": {"audio_source": "music"}}),
                 422, "VALIDATION_ERROR")


def test_new_config_keys(client, clips):
    t, v1, v2 = clips["t"], clips["v1"], clips["v2"]
    base = {"footage_video_ids": [v1, v2], "template_video_id": t}
    for i, (cfg, echoed) in enumerate([({"footage_order": "any"}, {"footage_order": "any"}),
                                       ({"footage_order": "keep", "quality": "low"}, {"footage_order": "keep"}),
                                       ({"music_start_seconds": 12.5}, {"music_start_seconds": 12.5}),
                                       ({"music_start_seconds": 0, "quality": "medium"}, {"music_start_seconds": 0}),
                                       ({"music_start_seconds": None, "footage_order": "any", "quality": "low"},
                                        {"music_start_seconds": None})]):
        job = assert_ok(create_job(client, {**base, "config": cfg}))
        assert {k: job["config"][k] for k in echoed} == echoed, cfg
        assert set(job["config"]) == set(V10_CONFIG_DEFAULTS) | set(V11_CONFIG_DEFAULTS)
    for cfg in ({"footage_order": "random"}, {"footage_order": None}, {"music_start_seconds": -0.5},
                {"music_start_seconds": "soon"}, {"audio_source": "song"}):
        body = assert_error(create_job(client, {**base, "config": cfg}), 422, "VALIDATION_ERROR")
        assert "config" in json.dumps(body["error"]["fields"]), cfg


def test_v10_request_sees_no_change(client, clips):
    t, v1 = clips["t"], clips["v1"]
    job = assert_ok(create_job(client, {"video_id": v1, "template_video_id": t, "config": {"quality": "low"}}), "Job created")
    assert set(job) == V10_JOB_FIELDS | V11_JOB_FIELDS  # v1.0's fields, and only additions
    assert (job["video_id"], job["template_video_id"], job["mode"], job["status"]) == (v1, t, "apply", "queued")
    assert (job["progress_percent"], job["current_stage"], job["error"], job["started_at"]) == (0, None, None, None)
    assert job["config"] == {**V10_CONFIG_DEFAULTS, "quality": "low", **V11_CONFIG_DEFAULTS}
    assert re.match(r"^job_[0-9a-f]{16}$", job["job_id"]) and job["created_at"].endswith("Z")
    assert (job["footage_video_ids"], job["style_id"], job["music_audio_id"]) == ([v1], None, None)
    assert assert_ok(client.get(f"/api/v1/jobs/{job['job_id']}"), "Job retrieved") == job
    assert assert_ok(client.get("/api/v1/jobs"))["jobs"] == [job]
    ex = assert_ok(create_job(client, {"video_id": t}))
    assert (ex["mode"], ex["template_video_id"], ex["footage_video_ids"]) == ("extract", None, [t])
    # v1.0 duplicate detection is unchanged
    body = assert_error(create_job(client, {"video_id": v1, "template_video_id": t, "config": {"quality": "low"}}),
                        409, "JOB_ALREADY_PROCESSING")
    assert job["job_id"] in body["error"]["detail"]


def test_duplicate_detection_compares_the_new_fields(client, clips, real_dna):
    t, v1, v2, v3, m1, m2 = (clips[k] for k in ("t", "v1", "v2", "v3", "m1", "m2"))
    first = assert_ok(create_job(client, {"footage_video_ids": [v1, v2], "template_video_id": t}))
    body = assert_error(create_job(client, {"footage_video_ids": [v1, v2], "template_video_id": t,
                                            "config": {"footage_order": "keep"}}), 409, "JOB_ALREADY_PROCESSING")
    assert first["job_id"] in body["error"]["detail"]
    assert_error(create_job(client, {"video_id": v1, "footage_video_ids": [v1, v2], "template_video_id": t}),
                 409, "JOB_ALREADY_PROCESSING")
    not_duplicates = [
        {"footage_video_ids": [v2, v1], "template_video_id": t},  # the same clips in another order
        {"footage_video_ids": [v1, v2, v3], "template_video_id": t},  # one clip more
        {"footage_video_ids": [v1, v3], "template_video_id": t},  # another second clip
        {"footage_video_ids": [v1, v3, v2], "template_video_id": t},  # the same first clip, the others swapped
        {"footage_video_ids": [v1, v2], "template_video_id": t, "music_audio_id": m1},  # with a song
        {"footage_video_ids": [v1, v2], "template_video_id": t, "music_audio_id": m2},  # another song
        {"footage_video_ids": [v1, v2], "template_video_id": t, "config": {"footage_order": "any"}},
        {"footage_video_ids": [v1, v2], "template_video_id": t, "config": {"music_start_seconds": 3.0}},
        {"video_id": v1, "template_video_id": t, "music_audio_id": m1},  # one clip, with a song
        {"video_id": v1, "template_video_id": t, "music_audio_id": m2},
    ]
    ids = {first["job_id"]}
    for body in not_duplicates:
        ids.add(assert_ok(create_job(client, body))["job_id"])
    assert len(ids) == len(not_duplicates) + 1
    for body in not_duplicates:  # ... and each is a duplicate of itself
        assert_error(create_job(client, body), 409, "JOB_ALREADY_PROCESSING")
    # the one-clip job is the same job in its v1.0 and v1.1 forms
    one = assert_ok(create_job(client, {"video_id": v3, "template_video_id": t}))
    body = assert_error(create_job(client, {"footage_video_ids": [v3], "template_video_id": t}), 409, "JOB_ALREADY_PROCESSING")
    assert one["job_id"] in body["error"]["detail"]
    # saved styles: the same style is a duplicate, another style or the template is not
    s1, s2 = save_style(client, "s1", real_dna)["style_id"], save_style(client, "s2", real_dna)["style_id"]
    assert_ok(create_job(client, {"footage_video_ids": [v1, v2], "style_id": s1}))
    assert_error(create_job(client, {"footage_video_ids": [v1, v2], "style_id": s1}), 409, "JOB_ALREADY_PROCESSING")
    assert_ok(create_job(client, {"footage_video_ids": [v1, v2], "style_id": s2}))
    # a finished (cancelled) job is no longer a duplicate
    assert_ok(client.post(f"/api/v1/jobs/{first['job_id']}/cancel"))
    assert_ok(create_job(client, {"footage_video_ids": [v1, v2], "template_video_id": t}))


def test_idempotency_compares_the_new_fields(client, clips):
    t, v1, v2, m1, m2 = (clips[k] for k in ("t", "v1", "v2", "m1", "m2"))
    h = {"Idempotency-Key": "v11-key"}
    body = {"footage_video_ids": [v1, v2], "template_video_id": t, "music_audio_id": m1}
    a = assert_ok(create_job(client, body, headers=h))
    b = assert_ok(create_job(client, dict(body), headers=h))  # identical: the same job
    assert a["job_id"] == b["job_id"] and b["footage_video_ids"] == [v1, v2] and b["music_audio_id"] == m1
    assert assert_ok(client.get("/api/v1/jobs"))["total"] == 1
    for other in ({**body, "footage_video_ids": [v2, v1]}, {**body, "music_audio_id": m2},
                  {k: v for k, v in body.items() if k != "music_audio_id"}, {**body, "config": {"footage_order": "any"}}):
        assert_error(create_job(client, other, headers=h), 409, "IDEMPOTENCY_KEY_REUSED")
    # another key with the clips in another order is a new job, not a duplicate
    c = assert_ok(create_job(client, {**body, "footage_video_ids": [v2, v1]}, headers={"Idempotency-Key": "v11-other"}))
    assert c["job_id"] != a["job_id"] and c["footage_video_ids"] == [v2, v1]
    assert assert_ok(client.get("/api/v1/jobs"))["total"] == 2


def test_idempotent_retry_after_its_style_was_deleted(client, clips, real_dna):
    """A retry with the same key and body is the same job, even once its saved style is gone
    (the job has its own copy; the retry must not turn into a 404)."""
    v1, v2 = clips["v1"], clips["v2"]
    style = save_style(client, "short-lived", real_dna)["style_id"]
    h = {"Idempotency-Key": "retry-after-delete"}
    body = {"footage_video_ids": [v1, v2], "style_id": style}
    job = assert_ok(create_job(client, body, headers=h))
    assert_ok(client.delete(f"/api/v1/styles/{style}"), "Style deleted")
    again = assert_ok(create_job(client, body, headers=h))
    assert again == job
    assert_error(create_job(client, {**body, "footage_video_ids": [v2, v1]}, headers=h), 409, "IDEMPOTENCY_KEY_REUSED")
    assert_error(create_job(client, body), 404, "STYLE_NOT_FOUND")  # without the key it is a new request


def test_list_jobs_video_id_matches_any_clip(client, clips):
    t, v1, v2, v3 = clips["t"], clips["v1"], clips["v2"], clips["v3"]
    multi = assert_ok(create_job(client, {"footage_video_ids": [v1, v2], "template_video_id": t}))["job_id"]
    single = assert_ok(create_job(client, {"video_id": v2, "template_video_id": None}))["job_id"]
    third = assert_ok(create_job(client, {"footage_video_ids": [v3, v2, v1], "template_video_id": t}))["job_id"]

    def listed(query):
        page = assert_ok(client.get(f"/api/v1/jobs?{query}"), "Jobs retrieved")
        assert page["total"] == len(page["jobs"]) and page["total_pages"] == (1 if page["total"] else 0)
        return [j["job_id"] for j in page["jobs"]]

    assert listed(f"video_id={v1}") == [third, multi]  # a later clip counts too, newest first
    assert listed(f"video_id={v2}") == [third, single, multi]
    assert listed(f"video_id={v3}") == [third]
    assert listed(f"video_id={t}") == []  # the template is not a clip
    assert listed(f"video_id={NO_VIDEO}") == []
    assert_ok(client.post(f"/api/v1/jobs/{multi}/cancel"))
    assert listed(f"video_id={v2}&status=cancelled") == [multi]
    assert listed(f"video_id={v2}&status=queued") == [third, single]
    page = assert_ok(client.get(f"/api/v1/jobs?video_id={v2}&page_size=2&page=2"))
    assert [j["job_id"] for j in page["jobs"]] == [multi] and page["total"] == 3 and page["total_pages"] == 2


# == auth and CORS on the new endpoints =====================================================


def test_new_endpoints_need_the_api_key(tmp_path, songs):
    app = make_app(tmp_path / "i", CLIPZY_API_KEYS="k1")
    client = app.test_client()
    h = {"Authorization": "Bearer k1"}
    for resp in (upload_song(client, songs["song.wav"][0]), client.get(f"/api/v1/audio/{NO_AUDIO}"),
                 client.get("/api/v1/styles"), client.post("/api/v1/styles", json={"name": "x", "style_json": {}}),
                 client.get(f"/api/v1/styles/{NO_STYLE}"), client.delete(f"/api/v1/styles/{NO_STYLE}")):
        assert_error(resp, 401, "UNAUTHORIZED")
    audio = assert_ok(upload_file(client, songs["song.wav"][0], headers=h, url="/api/v1/audio/upload"))["audio_id"]
    assert assert_ok(client.get(f"/api/v1/audio/{audio}", headers=h))["audio_id"] == audio
    assert assert_ok(client.get("/api/v1/styles", headers=h))["total"] == 0
    assert_error(client.delete(f"/api/v1/styles/{NO_STYLE}", headers=h), 404, "STYLE_NOT_FOUND")


def test_cors_allows_deleting_a_style(tmp_path, real_dna):
    app = make_app(tmp_path / "i", CORS_ORIGINS="https://ok.example")
    client = app.test_client()
    style = save_style(client, "x", real_dna)["style_id"]
    pre = client.options(f"/api/v1/styles/{style}", headers={"Origin": "https://ok.example",
                                                              "Access-Control-Request-Method": "DELETE"})
    assert pre.headers["Access-Control-Allow-Origin"] == "https://ok.example"
    assert "DELETE" in [m.strip() for m in pre.headers["Access-Control-Allow-Methods"].split(",")]
    resp = client.delete(f"/api/v1/styles/{style}", headers={"Origin": "https://ok.example"})
    assert_ok(resp, "Style deleted")
    assert resp.headers["Access-Control-Allow-Origin"] == "https://ok.example"


# == the store: an instance at schema version 1 ==============================================


def test_schema_version_1_database_migrates(tmp_path, songs):
    from clipzy.store import MIGRATIONS

    instance = tmp_path / "old"
    instance.mkdir()
    now = "2025-01-02T03:04:05.000Z"
    meta = json.dumps({"width": 128, "height": 72, "duration_seconds": 1.0, "frame_rate": 25.0, "codec": "h264",
                       "bitrate_kbps": 100, "format": "mp4", "has_audio": False, "audio_codec": None,
                       "audio_sample_rate": None, "rotation": 0})
    config = json.dumps(V10_CONFIG_DEFAULTS, sort_keys=True)
    conn = sqlite3.connect(instance / "clipzy.sqlite3")
    conn.executescript(MIGRATIONS[0])  # the v1.0 schema, as a v1.0 service left it
    conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
    conn.execute("INSERT INTO schema_version (version) VALUES (1)")
    for vid, tmpl in (("vid_00000000000000aa", None), ("vid_00000000000000bb", "vid_00000000000000aa")):
        conn.execute("INSERT INTO videos (id, filename, file_size_bytes, metadata, storage_name, template_video_id,"
                     " webhook_url, uploaded_at) VALUES (?, 'a.mp4', 1234, ?, ?, ?, NULL, ?)", (vid, meta, f"{vid}.mp4", tmpl, now))
    jobs = [("job_00000000000000a1", "vid_00000000000000bb", "vid_00000000000000aa", "apply", "completed", 100),
            ("job_00000000000000a2", "vid_00000000000000aa", None, "extract", "queued", 0)]
    for job_id, vid, tmpl, mode, status, progress in jobs:
        conn.execute("INSERT INTO jobs (id, video_id, template_video_id, template_key, mode, status, progress, config,"
                     " config_key, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'k1', ?, ?)",
                     (job_id, vid, tmpl, tmpl or "", mode, status, progress, config, now, now))
    conn.commit()
    conn.close()

    app = make_app(instance)  # the new code opens it
    svc = app.extensions["clipzy"]
    client = app.test_client()
    assert svc.store.schema_version() == len(MIGRATIONS) == 2
    db = svc.store.connect()
    tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"videos", "jobs", "job_events", "idempotency_keys", "webhook_deliveries", "audio", "styles", "job_videos"} <= tables
    columns = {r[1] for r in db.execute("PRAGMA table_info(jobs)")}
    assert {"footage_video_ids", "style_id", "style_json", "music_audio_id"} <= columns
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    # the old rows are all there, in v1.1 shape
    video = assert_ok(client.get("/api/v1/videos/vid_00000000000000bb"))
    assert video["template_video_id"] == "vid_00000000000000aa" and video["metadata"] == json.loads(meta)
    old = assert_ok(client.get("/api/v1/jobs/job_00000000000000a1"))
    assert (old["video_id"], old["template_video_id"], old["status"], old["progress_percent"]) == \
        ("vid_00000000000000bb", "vid_00000000000000aa", "completed", 100)
    assert (old["footage_video_ids"], old["style_id"], old["music_audio_id"]) == (["vid_00000000000000bb"], None, None)
    assert old["config"] == V10_CONFIG_DEFAULTS and old["created_at"] == now
    queued = assert_ok(client.get("/api/v1/jobs/job_00000000000000a2"))
    assert queued["status"] == "queued" and queued["footage_video_ids"] == ["vid_00000000000000aa"]
    listed = assert_ok(client.get("/api/v1/jobs?video_id=vid_00000000000000bb"))
    assert [j["job_id"] for j in listed["jobs"]] == ["job_00000000000000a1"]
    assert assert_ok(client.get("/api/v1/jobs"))["total"] == 2
    # the v1.1 additions work on it
    assert assert_ok(client.get("/api/v1/styles"))["total"] == 0
    song = assert_ok(upload_song(client, songs["song.wav"][0]))["audio_id"]
    new = assert_ok(create_job(client, {"footage_video_ids": ["vid_00000000000000bb", "vid_00000000000000aa"],
                                        "template_video_id": "vid_00000000000000aa", "music_audio_id": song}))
    assert new["footage_video_ids"] == ["vid_00000000000000bb", "vid_00000000000000aa"]
    assert [j["job_id"] for j in assert_ok(client.get("/api/v1/jobs?video_id=vid_00000000000000aa"))["jobs"]] == \
        [new["job_id"], "job_00000000000000a2"]
    # opening it again changes nothing
    assert svc.store.migrate() == 2
    assert svc.store.connect().execute("SELECT COUNT(*) FROM job_videos").fetchone()[0] == 4  # 2 backfilled, 2 new


# == the OpenAPI document ================================================================


def test_openapi_lists_the_v11_paths(client):
    from openapi_spec_validator import validate

    spec = client.get("/api/v1/openapi.json").get_json()
    validate(spec)
    paths = spec["paths"]
    expected = {"/api/v1/audio/upload": {"post"}, "/api/v1/audio/{audio_id}": {"get"},
                "/api/v1/styles": {"get", "post"}, "/api/v1/styles/{style_id}": {"get", "delete"}}
    for path, methods in expected.items():
        assert path in paths, path
        assert methods <= set(paths[path]), (path, set(paths[path]))
    assert "404" in paths["/api/v1/audio/{audio_id}"]["get"]["responses"]
    assert {"404", "409", "422"} <= set(paths["/api/v1/styles"]["post"]["responses"])
    assert "404" in paths["/api/v1/styles/{style_id}"]["delete"]["responses"]
    assert "multipart/form-data" in paths["/api/v1/audio/upload"]["post"]["requestBody"]["content"]
    schemas = spec["components"]["schemas"]

    def schema_of(ref_holder):
        return schemas[ref_holder["$ref"].split("/")[-1]]

    create = schema_of(paths["/api/v1/jobs"]["post"]["requestBody"]["content"]["application/json"]["schema"])
    assert {"footage_video_ids", "style_id", "music_audio_id"} <= set(create["properties"])
    assert create["properties"]["footage_video_ids"]["maxItems"] == 50
    assert create["properties"]["footage_video_ids"]["minItems"] == 1
    config = schema_of(create["properties"]["config"]) if "$ref" in create["properties"]["config"] else \
        schema_of(create["properties"]["config"]["allOf"][0])
    assert set(config["properties"]["footage_order"]["enum"]) == {"keep", "any"}
    assert "music" in config["properties"]["audio_source"]["enum"]
    assert "music_start_seconds" in config["properties"]
    envelope = schema_of(paths["/api/v1/jobs/{job_id}"]["get"]["responses"]["200"]["content"]["application/json"]["schema"])
    job = schema_of(envelope["properties"]["data"])
    assert V10_JOB_FIELDS | V11_JOB_FIELDS <= set(job["properties"])
    envelope = schema_of(paths["/api/v1/styles"]["get"]["responses"]["200"]["content"]["application/json"]["schema"])
    listing = schema_of(envelope["properties"]["data"])
    assert {"styles", "total", "page", "page_size", "total_pages"} <= set(listing["properties"])
