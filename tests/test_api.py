"""The v1 HTTP contract: envelopes, status codes, error codes, uploads, jobs (no job pool here)."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from conftest import assert_error, assert_ok, files_in, make_app, upload_file

VID_RE = r"^vid_[0-9a-f]{16}$"


def upload(client, path, name=None, **form):
    return upload_file(client, path, name=name, **form)


# -- health, docs, generic errors ------------------------------------------------------

def test_health_reports_real_state(client):
    data = assert_ok(client.get("/api/v1/health"))
    assert data["status"] == "ok" and data["database"] == "ok"
    assert data["storage"]["free_bytes"] > 0
    assert data["workers"] == {"max": 0, "busy": 0, "queued": 0}
    assert "CPUExecutionProvider" in data["onnx_providers"]
    assert set(data["models"]) == {"transnetv2", "silero_vad", "ppocr"}  # every learned model, the text detector's too
    assert data["models"]["transnetv2"]["available"] is False and data["models"]["silero_vad"]["available"] is False
    assert data["models"]["ppocr"]["available"] is True  # bundled inside the rapidocr wheel
    assert all(m["fallback"] for m in data["models"].values())


def test_health_reports_the_providers_a_session_really_gets(tmp_path):
    """CLIPZY_ONNX_PROVIDERS is probed, not echoed: /health lists what a session on those
    providers really runs on (CUDA only where it starts)."""
    import onnxruntime as ort
    from onnx import TensorProto, helper

    wanted = ["CUDAExecutionProvider", "CPUExecutionProvider"]
    app = make_app(tmp_path / "i", CLIPZY_ONNX_PROVIDERS=",".join(wanted))
    reported = assert_ok(app.test_client().get("/api/v1/health"))["onnx_providers"]
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])
    model = helper.make_model(helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "g", [x], [y]),
                              opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    ort.set_default_logger_severity(4)
    try:
        got = ort.InferenceSession(model.SerializeToString(), providers=wanted).get_providers()
    finally:
        ort.set_default_logger_severity(3)
    assert reported == got, (reported, got)


def test_health_503_when_database_unusable(app, client, monkeypatch):
    import sqlite3

    def broken():
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(app.extensions["clipzy"].store, "ping", broken)
    body = assert_error(client.get("/api/v1/health"), 503, "SERVICE_UNAVAILABLE")
    assert "database" in body["error"]["detail"] and "onnx_providers" in body["error"]["detail"]


def test_unknown_route_and_method(client):
    assert_error(client.get("/api/v1/nope"), 404, "NOT_FOUND")
    resp = client.delete("/api/v1/health")
    assert_error(resp, 405, "METHOD_NOT_ALLOWED")
    assert "GET" in resp.headers["Allow"]


def test_security_headers_on_every_response(client):
    for resp in (client.get("/api/v1/health"), client.get("/api/v1/nope"), client.get("/")):
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        assert resp.headers["Referrer-Policy"] == "no-referrer"
        assert resp.headers["X-Request-Id"]
    assert "default-src 'self'" in client.get("/").headers["Content-Security-Policy"]


def test_request_id_is_echoed_when_sane(client):
    assert client.get("/api/v1/health", headers={"X-Request-Id": "abc-123"}).headers["X-Request-Id"] == "abc-123"
    assert client.get("/api/v1/health", headers={"X-Request-Id": "bad id;<x>"}).headers["X-Request-Id"] != "bad id;<x>"


def test_internal_error_envelope_without_trace(tmp_path):
    app = make_app(tmp_path / "i", TESTING=False, PROPAGATE_EXCEPTIONS=False)

    @app.get("/api/v1/boom")
    def boom():
        raise RuntimeError("secret /etc/path detail")

    body = assert_error(app.test_client().get("/api/v1/boom"), 500, "INTERNAL_ERROR")
    assert "secret" not in json.dumps(body) and "Traceback" not in json.dumps(body)
    assert "request id" in body["error"]["detail"]


def test_openapi_document_is_valid_and_complete(client):
    from openapi_spec_validator import validate

    spec = client.get("/api/v1/openapi.json").get_json()
    validate(spec)
    paths = spec["paths"]
    for p in ("/api/v1/health", "/api/v1/videos/upload", "/api/v1/videos/{video_id}", "/api/v1/jobs",
              "/api/v1/jobs/{job_id}", "/api/v1/jobs/{job_id}/result", "/api/v1/jobs/{job_id}/cancel",
              "/api/v1/jobs/{job_id}/output", "/api/v1/jobs/{job_id}/artifacts/{name}"):
        assert p in paths, p
    ok = paths["/api/v1/jobs/{job_id}"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    env = spec["components"]["schemas"][ok["$ref"].split("/")[-1]]
    assert set(env["properties"]) == {"success", "message", "data"}  # the envelope is documented
    assert "404" in paths["/api/v1/jobs/{job_id}"]["get"]["responses"]
    docs = client.get("/api/v1/docs")
    assert docs.status_code == 200 and b"openapi.json" in docs.data
    docs.close()


# -- uploads -------------------------------------------------------------------------

@pytest.mark.parametrize("ext,codec", [("mp4", "h264"), ("mov", "h264"), ("mkv", "h264"), ("webm", "vp9"), ("avi", "mpeg4")])
def test_upload_each_container(client, small_clips, ext, codec):
    data = assert_ok(upload(client, small_clips[ext]), "Video uploaded successfully")
    import re

    assert re.match(VID_RE, data["video_id"])
    assert data["filename"] == f"clip.{ext}"
    assert data["file_size_bytes"] == os.path.getsize(small_clips[ext])
    m = data["metadata"]
    assert (m["width"], m["height"], m["rotation"]) == (128, 72, 0)
    assert m["frame_rate"] == 25.0 and m["codec"] == codec and m["format"] == ext
    assert abs(m["duration_seconds"] - 1.0) < 0.1
    assert m["has_audio"] is True and m["audio_sample_rate"] == 48000 and m["audio_codec"]
    assert data["uploaded_at"].endswith("Z") and data["storage_url"].startswith("file://")
    assert Path(data["storage_url"][7:]).is_file()
    got = assert_ok(client.get(f"/api/v1/videos/{data['video_id']}"), "Video retrieved")
    assert got == data


def test_upload_rotated_phone_clip(client, small_clips):
    m = assert_ok(upload(client, small_clips["rotated"]))["metadata"]
    assert (m["width"], m["height"], m["rotation"]) == (72, 128, 90)
    assert m["has_audio"] is False and m["audio_codec"] is None and m["audio_sample_rate"] is None


def test_upload_rejects_non_video_and_leaves_nothing(app, client, small_clips, tmp_path):
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(os.urandom(50_000))
    assert_error(upload(client, junk), 422, "UNSUPPORTED_FORMAT")
    truncated = tmp_path / "cut.mp4"
    truncated.write_bytes(Path(small_clips["mp4"]).read_bytes()[:3000])
    assert_error(upload(client, truncated), 422, "UNSUPPORTED_FORMAT")
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    assert_error(upload(client, empty), 422, "UNSUPPORTED_FORMAT")
    assert_error(upload(client, small_clips["audio_only"], name="tone.mp4"), 422, "UNSUPPORTED_FORMAT")
    assert_error(upload(client, small_clips["mp4"], name="clip.txt"), 422, "UNSUPPORTED_FORMAT")
    assert files_in(app, "uploads") == [] and files_in(app, "tmp") == []


def test_upload_missing_file_field(client):
    body = assert_error(client.post("/api/v1/videos/upload", data={"webhook_url": "https://example.com/h"},
                                    content_type="multipart/form-data"), 422, "MISSING_FIELD")
    assert "file" in body["error"]["fields"]
    assert_error(client.post("/api/v1/videos/upload", json={"x": 1}), 422, "MISSING_FIELD")


def test_upload_without_file_part_is_missing_field_even_with_other_fields(client, small_clips):
    """API.md: MISSING_FIELD wins over unknown-field errors; a file sent under another name is a missing ``file``."""
    import io

    body = assert_error(client.post("/api/v1/videos/upload", data={"note": "hello"}, content_type="multipart/form-data"),
                        422, "MISSING_FIELD")
    assert "file" in body["error"]["fields"]
    with open(small_clips["mp4"], "rb") as fh:
        data = {"video": (io.BytesIO(fh.read()), "clip.mp4")}
    body = assert_error(client.post("/api/v1/videos/upload", data=data, content_type="multipart/form-data"),
                        422, "MISSING_FIELD")
    assert "file" in body["error"]["fields"]


def test_upload_over_limit_413_and_nothing_kept(tmp_path, small_clips):
    app = make_app(tmp_path / "i", MAX_FILE_SIZE_MB=0.01)  # 10485 bytes
    client = app.test_client()
    big = tmp_path / "big.mp4"
    big.write_bytes(os.urandom(200_000))
    assert_error(upload(client, big), 413, "FILE_TOO_LARGE")
    # a file just over the limit but inside the multipart slack is cut by the size check
    mid = tmp_path / "mid.mp4"
    mid.write_bytes(os.urandom(10_485 + 100))
    assert_error(upload(client, mid), 413, "FILE_TOO_LARGE")
    assert files_in(app, "uploads") == [] and files_in(app, "tmp") == []


def test_upload_media_limits(tmp_path, small_clips):
    app = make_app(tmp_path / "i", MAX_VIDEO_DURATION_SECONDS=0.5)
    body = assert_error(upload(app.test_client(), small_clips["mp4"]), 422, "MEDIA_LIMIT_EXCEEDED")
    assert "duration" in body["error"]["detail"]
    app = make_app(tmp_path / "j", MAX_VIDEO_PIXELS=128 * 72 - 1)
    assert_error(upload(app.test_client(), small_clips["mp4"]), 422, "MEDIA_LIMIT_EXCEEDED")
    assert files_in(app, "uploads") == []


def test_upload_sanitises_filenames(client, small_clips):
    data = assert_ok(upload(client, small_clips["mp4"], name="../../etc/\u202epasswd\x00 clip.mp4"))
    assert "/" not in data["filename"] and "\x00" not in data["filename"] and "\u202e" not in data["filename"]
    assert data["filename"].endswith(".mp4")
    assert data["video_id"] in data["storage_url"]  # storage path from the id only


def test_upload_template_and_webhook_fields(client, small_clips):
    assert_error(upload(client, small_clips["mp4"], template_video_id="vid_ffffffffffffffff"), 404, "VIDEO_NOT_FOUND")
    assert_error(upload(client, small_clips["mp4"], webhook_url="ftp://x/y"), 422, "VALIDATION_ERROR")
    assert_error(upload(client, small_clips["mp4"], webhook_url="http://127.0.0.1/h"), 422, "VALIDATION_ERROR")
    t = assert_ok(upload(client, small_clips["mp4"]))
    v = assert_ok(upload(client, small_clips["mov"], template_video_id=t["video_id"], webhook_url="https://example.com/h"))
    assert v["template_video_id"] == t["video_id"]
    assert_error(upload(client, small_clips["mp4"], bogus="1"), 422, "VALIDATION_ERROR")


def test_get_unknown_video(client):
    assert_error(client.get("/api/v1/videos/vid_0123456789abcdef"), 404, "VIDEO_NOT_FOUND")


# -- jobs ----------------------------------------------------------------------------

@pytest.fixture
def two_videos(client, small_clips):
    t = assert_ok(upload(client, small_clips["mp4"]))["video_id"]
    v = assert_ok(upload(client, small_clips["mov"], template_video_id=t))["video_id"]
    return t, v


def test_create_job_modes_and_defaults(client, two_videos):
    t, v = two_videos
    job = assert_ok(client.post("/api/v1/jobs", json={"video_id": v}), "Job created")
    assert job["mode"] == "apply" and job["template_video_id"] == t  # falls back to the upload's template
    assert job["status"] == "queued" and job["progress_percent"] == 0 and job["current_stage"] is None
    assert job["config"] == {"quality": "high", "aspect_ratio": "template", "resolution": None, "duration_seconds": None,
                             "audio_source": "auto", "color_strength": 1.0, "transitions": True, "beat_sync": True,
                             "footage_order": "keep", "music_start_seconds": None}  # v1.1 keys: defaults filled in
    assert job["created_at"].endswith("Z") and job["started_at"] is None and job["error"] is None
    ex = assert_ok(client.post("/api/v1/jobs", json={"video_id": v, "template_video_id": None}))
    assert ex["mode"] == "extract" and ex["template_video_id"] is None
    assert assert_ok(client.get(f"/api/v1/jobs/{ex['job_id']}"))["job_id"] == ex["job_id"]


def test_create_job_errors(client, two_videos):
    t, v = two_videos
    assert_error(client.post("/api/v1/jobs", data="{", content_type="application/json"), 400, "INVALID_JSON")
    assert_error(client.post("/api/v1/jobs", data="video_id=x", content_type="application/x-www-form-urlencoded"), 400, "INVALID_JSON")
    assert_error(client.post("/api/v1/jobs", json=[1, 2]), 400, "INVALID_JSON")
    body = assert_error(client.post("/api/v1/jobs", json={}), 422, "VALIDATION_ERROR")
    assert "video_id" in body["error"]["fields"]
    assert_error(client.post("/api/v1/jobs", json={"video_id": v, "config": {"quality": "ultra"}}), 422, "VALIDATION_ERROR")
    assert_error(client.post("/api/v1/jobs", json={"video_id": v, "config": {"nope": 1}}), 422, "VALIDATION_ERROR")
    assert_error(client.post("/api/v1/jobs", json={"video_id": v, "config": {"color_strength": 1.5}}), 422, "VALIDATION_ERROR")
    assert_error(client.post("/api/v1/jobs", json={"video_id": v, "config": {"resolution": 100}}), 422, "VALIDATION_ERROR")
    assert_error(client.post("/api/v1/jobs", json={"video_id": "vid_0000000000000000"}), 404, "VIDEO_NOT_FOUND")
    assert_error(client.post("/api/v1/jobs", json={"video_id": v, "template_video_id": "vid_0000000000000000"}), 404, "VIDEO_NOT_FOUND")
    for url in ("file:///etc/passwd", "http://10.0.0.1/h", "http://[::1]/h", "http://169.254.169.254/", "http://localhost/x"):
        assert_error(client.post("/api/v1/jobs", json={"video_id": v, "webhook_url": url}), 422, "VALIDATION_ERROR")


def test_duplicate_job_detection_uses_effective_config(client, two_videos):
    t, v = two_videos
    first = assert_ok(client.post("/api/v1/jobs", json={"video_id": v, "template_video_id": None}))
    body = assert_error(client.post("/api/v1/jobs", json={"video_id": v, "template_video_id": None,
                                                          "config": {"quality": "high"}}), 409, "JOB_ALREADY_PROCESSING")
    assert first["job_id"] in body["error"]["detail"]
    assert_ok(client.post("/api/v1/jobs", json={"video_id": v, "template_video_id": None, "config": {"quality": "low"}}))
    assert_ok(client.post(f"/api/v1/jobs/{first['job_id']}/cancel"))
    assert_ok(client.post("/api/v1/jobs", json={"video_id": v, "template_video_id": None}))  # no longer active


def test_idempotency_key(client, two_videos):
    t, v = two_videos
    h = {"Idempotency-Key": "k-1"}
    a = assert_ok(client.post("/api/v1/jobs", json={"video_id": v}, headers=h))
    b = assert_ok(client.post("/api/v1/jobs", json={"video_id": v}, headers=h))
    assert a["job_id"] == b["job_id"]
    assert_error(client.post("/api/v1/jobs", json={"video_id": v, "config": {"quality": "low"}}, headers=h),
                 409, "IDEMPOTENCY_KEY_REUSED")


def test_cancel_queued_job_and_not_cancellable(client, two_videos):
    t, v = two_videos
    job = assert_ok(client.post("/api/v1/jobs", json={"video_id": v}))
    c = assert_ok(client.post(f"/api/v1/jobs/{job['job_id']}/cancel"), "Job cancelled")
    assert c["status"] == "cancelled" and c["completed_at"]
    assert_error(client.post(f"/api/v1/jobs/{job['job_id']}/cancel"), 409, "JOB_NOT_CANCELLABLE")
    assert_error(client.post("/api/v1/jobs/job_0000000000000000/cancel"), 404, "JOB_NOT_FOUND")


def test_result_and_downloads_not_ready(client, two_videos):
    t, v = two_videos
    job = assert_ok(client.post("/api/v1/jobs", json={"video_id": v}))
    body = assert_error(client.get(f"/api/v1/jobs/{job['job_id']}/result"), 409, "RESULT_NOT_READY")
    assert "queued" in body["error"]["detail"]
    assert_error(client.get(f"/api/v1/jobs/{job['job_id']}/output"), 404, "OUTPUT_NOT_AVAILABLE")
    assert_error(client.get(f"/api/v1/jobs/{job['job_id']}/artifacts/lut"), 404, "OUTPUT_NOT_AVAILABLE")
    assert_error(client.get(f"/api/v1/jobs/{job['job_id']}/artifacts/passwd"), 404, "OUTPUT_NOT_AVAILABLE")
    assert_error(client.get("/api/v1/jobs/job_0000000000000000/result"), 404, "JOB_NOT_FOUND")
    assert_error(client.get("/api/v1/jobs/job_0000000000000000"), 404, "JOB_NOT_FOUND")


def test_list_jobs_pagination_and_filters(client, two_videos):
    t, v = two_videos
    ids = []
    for q in ("low", "medium", "high"):
        ids.append(assert_ok(client.post("/api/v1/jobs", json={"video_id": v, "config": {"quality": q}}))["job_id"])
    ids.append(assert_ok(client.post("/api/v1/jobs", json={"video_id": t, "template_video_id": None}))["job_id"])
    assert_ok(client.post(f"/api/v1/jobs/{ids[0]}/cancel"))
    page = assert_ok(client.get("/api/v1/jobs?page_size=3"), "Jobs retrieved")
    assert page["total"] == 4 and page["total_pages"] == 2 and page["page"] == 1 and page["page_size"] == 3
    assert [j["job_id"] for j in page["jobs"]] == ids[::-1][:3]  # newest first
    last = assert_ok(client.get("/api/v1/jobs?page_size=3&page=2"))
    assert [j["job_id"] for j in last["jobs"]] == [ids[0]]
    past = assert_ok(client.get("/api/v1/jobs?page=99"))
    assert past["jobs"] == [] and past["total"] == 4
    assert assert_ok(client.get("/api/v1/jobs?status=cancelled"))["total"] == 1
    assert assert_ok(client.get(f"/api/v1/jobs?video_id={t}"))["total"] == 1
    empty = assert_ok(client.get("/api/v1/jobs?status=failed"))
    assert empty == {"jobs": [], "total": 0, "page": 1, "page_size": 10, "total_pages": 0}
    for q in ("page_size=0", "page_size=101", "page=0", "status=done", "page=x", "sort=asc"):
        assert_error(client.get(f"/api/v1/jobs?{q}"), 422, "VALIDATION_ERROR")


def test_queue_full_503(tmp_path, small_clips):
    app = make_app(tmp_path / "i", CLIPZY_MAX_QUEUED_JOBS=1)
    client = app.test_client()
    v = assert_ok(upload(client, small_clips["mp4"]))["video_id"]
    assert_ok(client.post("/api/v1/jobs", json={"video_id": v}))
    assert_error(client.post("/api/v1/jobs", json={"video_id": v, "config": {"quality": "low"}}), 503, "SERVICE_UNAVAILABLE")


# -- auth, CORS, rate limit -----------------------------------------------------------------

def test_api_keys(tmp_path, small_clips):
    app = make_app(tmp_path / "i", CLIPZY_API_KEYS="k1,k2")
    client = app.test_client()
    assert client.get("/api/v1/health").status_code == 200  # never needs auth
    assert_error(client.get("/api/v1/jobs"), 401, "UNAUTHORIZED")
    assert_error(client.get("/api/v1/jobs", headers={"Authorization": "Bearer nope"}), 401, "UNAUTHORIZED")
    assert_ok(client.get("/api/v1/jobs", headers={"Authorization": "Bearer k2"}))
    assert_error(upload(client, small_clips["mp4"]), 401, "UNAUTHORIZED")


def test_signed_download_tokens(tmp_path):
    from clipzy import tokens

    keys = ["k1"]
    path = "/api/v1/jobs/job_0123456789abcdef/output"
    tok = tokens.sign_path(path, keys=keys, ttl_s=60)
    assert tokens.token_valid(path, tok, keys=keys)
    assert not tokens.token_valid(path + "x", tok, keys=keys)
    assert not tokens.token_valid(path, tok, keys=["other"])
    assert not tokens.token_valid(path, tokens.sign_path(path, keys=keys, ttl_s=-1), keys=keys)
    app = make_app(tmp_path / "i", CLIPZY_API_KEYS="k1")
    client = app.test_client()
    # a valid token passes auth (the job does not exist, so 404 — not 401)
    assert_error(client.get(f"{path}?token={tok}"), 404, "JOB_NOT_FOUND")
    assert_error(client.get(f"{path}?token=1.abc"), 401, "UNAUTHORIZED")
    # tokens are only for download paths
    assert_error(client.get(f"/api/v1/jobs?token={tokens.sign_path('/api/v1/jobs', keys=keys, ttl_s=60)}"), 401, "UNAUTHORIZED")


def test_cors_only_for_configured_origins(tmp_path):
    app = make_app(tmp_path / "i", CORS_ORIGINS="https://ok.example")
    client = app.test_client()
    r = client.get("/api/v1/health", headers={"Origin": "https://ok.example"})
    assert r.headers["Access-Control-Allow-Origin"] == "https://ok.example"
    r = client.options("/api/v1/jobs", headers={"Origin": "https://ok.example", "Access-Control-Request-Method": "POST"})
    assert "POST" in r.headers["Access-Control-Allow-Methods"] and "Authorization" in r.headers["Access-Control-Allow-Headers"]
    assert "Access-Control-Allow-Origin" not in client.get("/api/v1/health", headers={"Origin": "https://evil.example"}).headers


def test_rate_limit(tmp_path):
    app = make_app(tmp_path / "i", CLIPZY_RATE_LIMIT="3/minute")
    client = app.test_client()
    codes = [client.get("/api/v1/jobs").status_code for _ in range(4)]
    assert codes[:3] == [200, 200, 200]
    body = assert_error(client.get("/api/v1/jobs"), 429, "RATE_LIMITED")
    assert body["error"]["detail"]
    assert client.get("/api/v1/health").status_code == 200  # health is not limited


def test_result_urls_signed_and_absolute(tmp_path, small_clips):
    """A completed job's result: absolute URLs from CLIPZY_PUBLIC_URL, signed when keys are on."""
    from urllib.parse import parse_qs, urlsplit

    from clipzy import tokens
    from clipzy.store import JobStatus

    app = make_app(tmp_path / "i", CLIPZY_API_KEYS="k1", CLIPZY_PUBLIC_URL="https://clips.example/")
    client = app.test_client()
    h = {"Authorization": "Bearer k1"}
    with open(small_clips["mp4"], "rb") as fh:
        v = assert_ok(client.post("/api/v1/videos/upload", data={"file": (fh, "a.mp4")}, headers=h,
                                  content_type="multipart/form-data"))["video_id"]
    job = assert_ok(client.post("/api/v1/jobs", json={"video_id": v}, headers=h))
    svc = app.extensions["clipzy"]
    svc.store.claim_next_job("test")
    d = svc.storage.job_dir(job["job_id"], create=True)
    (d / "style_dna.json").write_text("{}")
    (d / "grade.cube").write_text("LUT_3D_SIZE 2\n")
    svc.store.finish_job(job["job_id"], status=JobStatus.COMPLETED, result={"processing_time_seconds": 1.5})
    res = client.get(f"/api/v1/jobs/{job['job_id']}/result", headers=h).get_json()["data"]
    assert res["status"] == "completed" and res["progress_percent"] == 100 and res["processing_time_seconds"] == 1.5
    assert set(res["artifacts"]) == {"style_dna", "lut"} and res["output_video_url"] is None
    url = urlsplit(res["artifacts"]["lut"])
    assert f"{url.scheme}://{url.netloc}" == "https://clips.example"
    tok = parse_qs(url.query)["token"][0]
    assert tokens.token_valid(url.path, tok, keys=["k1"])
    r = client.get(f"{url.path}?token={tok}")
    assert r.status_code == 200 and r.data.startswith(b"LUT_3D_SIZE")
    r.close()
