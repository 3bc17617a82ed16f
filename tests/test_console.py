"""The web console at ``/``: served with its CSP, and driven end to end in headless Chromium.

The browser tests run Debian's Chromium through Playwright (``executable_path``; nothing is
downloaded). Without Chromium or Playwright they skip locally and fail in CI (``need``).
Screenshots of the main views go to tests/artifacts/console/ (gitignored).
"""
from __future__ import annotations

import base64
import json
import re
import time
from pathlib import Path

import numpy as np
import pytest

import clipzy
from tests.browser import LiveServer, browser_page, chromium_available, open_page
from tests.conftest import ROOT, need, upload_file

ARTIFACTS = ROOT / "tests" / "artifacts" / "console"
REQUIRED_CSP = ("default-src 'self'", "script-src 'self' 'unsafe-inline'", "style-src 'self' 'unsafe-inline'",
                "img-src 'self' data: blob:", "media-src 'self' blob:", "connect-src 'self'")
STAGES = {"video_analysis", "audio_analysis", "motion_analysis", "style_extraction", "style_application", "rendering"}


def make_app(tmp_path: Path, **extra):
    cfg = {"INSTANCE_PATH": str(tmp_path / "instance"), "CLIPZY_START_RUNNER": False, "LOG_LEVEL": "WARNING"}
    cfg.update(extra)
    return clipzy.create_app(cfg)


def need_browser() -> None:
    ok, why = chromium_available()
    need(ok, why)


def shot(page, name: str, *, full_page: bool = True) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=full_page)


def unexpected(errors: list[str], *allowed_statuses: int) -> list[str]:
    """Console errors other than Chromium's 'Failed to load resource' for the expected HTTP statuses."""
    pat = re.compile(r"Failed to load resource: the server responded with a status of (\d+)")
    out = []
    for e in errors:
        m = pat.search(e)
        if m and int(m.group(1)) in allowed_statuses:
            continue
        out.append(e)
    return out


# -- plain HTTP -------------------------------------------------------------------


def test_page_and_static_files_are_served_with_csp(tmp_path):
    app = make_app(tmp_path)
    client = app.test_client()
    page = client.get("/")
    assert page.status_code == 200
    assert page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    for resp in [page]:
        csp = resp.headers.get("Content-Security-Policy", "")
        for directive in REQUIRED_CSP:
            assert directive in csp, (directive, csp)
    # every script is a static file (no inline script bodies), and so is the stylesheet
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, flags=re.S)
    assert scripts and all('src="' in attrs and not body.strip() for attrs, body in scripts)
    assert not re.search(r"https?://", re.sub(r"<!--.*?-->", "", html)), "no CDN or absolute URLs in the page"
    srcs = re.findall(r'(?:src|href)="(/console/static/[^"]+)"', html)
    assert {Path(s).name for s in srcs} == {"console.js", "console.css"}
    for src in srcs:
        with client.get(src) as resp:
            body = resp.get_data(as_text=True)
        assert resp.status_code == 200
        assert resp.mimetype in ("text/javascript", "application/javascript", "text/css")
        csp = resp.headers.get("Content-Security-Policy", "")
        for directive in REQUIRED_CSP:
            assert directive in csp, (src, directive, csp)
        assert resp.headers["X-Content-Type-Options"] == "nosniff"
        assert not re.search(r"https?://", body.replace("http://www.w3.org/2000/svg", "")), "no CDN or absolute URLs"
    # the console talks to the v1 API only
    with client.get(next(s for s in srcs if s.endswith(".js"))) as resp:
        js = resp.get_data(as_text=True)
    assert 'document.body.dataset.api || "/api/v1"' in js
    assert 'data-api="/api/v1"' in html
    # API responses keep their own headers (no CSP needed on JSON)
    assert client.get("/api/v1/health").status_code == 200


# -- browser: fast ----------------------------------------------------------------


def test_console_loads_without_console_errors_on_desktop_and_phone(tmp_path):
    need_browser()
    app = make_app(tmp_path)
    with LiveServer(app) as srv:
        with browser_page() as (page, errors):
            page.goto(srv.url + "/")
            page.wait_for_selector("#health.ok")
            assert "Service ok" in page.inner_text("#health")
            page.wait_for_selector("#jobs-body >> text=No jobs yet.")
            assert not page.is_visible("#key-dialog")
            assert not page.is_visible("#key-button")
            # keyboard: the file picker, job form and buttons are reachable with Tab, in order
            focus = []
            for _ in range(14):
                page.keyboard.press("Tab")
                focus.append(page.evaluate("document.activeElement.id || document.activeElement.tagName + ':' + (document.activeElement.textContent || '').trim().slice(0, 20)"))
            assert "file-template" in focus and "file-footage" in focus
            assert focus.index("file-template") < focus.index("file-footage")
            shot(page, "01-empty-desktop")
            assert errors == []
        with browser_page(viewport={"width": 390, "height": 844}) as (page, errors):
            page.goto(srv.url + "/")
            page.wait_for_selector("#health.ok")
            overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
            assert overflow <= 0, f"page is {overflow}px wider than a phone screen"
            shot(page, "02-empty-phone")
            assert errors == []


def test_key_prompt_when_api_keys_are_on(tmp_path, media_file):
    need_browser()
    footage = media_file("realshort.mp4")
    app = make_app(tmp_path, CLIPZY_API_KEYS=["k-right-0123456789"])
    with LiveServer(app) as srv, browser_page() as (page, errors):
        page.goto(srv.url + "/")
        dialog = page.locator("#key-dialog")
        dialog.wait_for(state="visible")
        assert page.evaluate("document.activeElement.id") == "key-input"
        shot(page, "03-key-prompt", full_page=False)
        page.fill("#key-input", "wrong-key")
        page.click("#key-form button[type=submit]")
        page.wait_for_selector("#key-error:not([hidden])")
        assert "refused" in page.inner_text("#key-error")
        page.fill("#key-input", "k-right-0123456789")
        page.press("#key-input", "Enter")  # keyboard submit
        dialog.wait_for(state="hidden")
        page.wait_for_selector("#jobs-body >> text=No jobs yet.")
        assert page.evaluate("sessionStorage.getItem('clipzy.apiKey')") == "k-right-0123456789"
        assert page.is_visible("#key-button")
        # the upload (XMLHttpRequest) sends the key too; no second prompt
        page.set_input_files("#file-footage", footage)
        page.wait_for_selector("#drop-footage[data-state=done]", timeout=30000)
        assert not dialog.is_visible()
        assert re.fullmatch(r"vid_[0-9a-f]{16}", page.input_value("#job-footage"))
        # after a reload the key is still there (sessionStorage): no prompt
        page.reload()
        page.wait_for_selector("#jobs-body >> text=No jobs yet.")
        assert not dialog.is_visible()
        assert unexpected(errors, 401) == []


def test_upload_errors_show_the_api_message_and_code(tmp_path, media_file):
    need_browser()
    footage = media_file("realshort.mp4")
    app = make_app(tmp_path, MAX_FILE_SIZE_MB=0.05)  # 52 KB: realshort.mp4 (97 KB) is too large
    text = tmp_path / "notes.mp4"
    text.write_text("this is a text file, not a video\n" * 20)
    other = tmp_path / "notes.txt"
    other.write_text("hello\n")
    with LiveServer(app) as srv, browser_page() as (page, errors):
        page.goto(srv.url + "/")
        page.set_input_files("#file-template", str(text))
        page.wait_for_selector("#error-template:not([hidden])", timeout=30000)
        msg = page.inner_text("#error-template")
        assert "Unsupported file" in msg and "UNSUPPORTED_FORMAT" in msg and "422" in msg
        assert "not a decodable video" in msg  # the API's detail
        shot(page, "04-upload-error")
        page.set_input_files("#file-template", str(other))
        page.wait_for_function("() => document.querySelector('#error-template').textContent.includes('Unsupported file type')")
        assert "UNSUPPORTED_FORMAT" in page.inner_text("#error-template")
        page.set_input_files("#file-footage", footage)
        page.wait_for_selector("#error-footage:not([hidden])", timeout=30000)
        msg = page.inner_text("#error-footage")
        assert "FILE_TOO_LARGE" in msg and "larger than the limit" in msg, msg
        assert page.get_attribute("#drop-footage", "data-state") == "error"
        assert unexpected(errors, 413, 422) == []


def test_queued_job_shows_in_list_and_can_be_cancelled(tmp_path, media_file):
    """Without the runner a job stays queued: the list shows it and the Cancel button cancels it."""
    need_browser()
    footage = media_file("realshort.mp4")
    app = make_app(tmp_path)
    with LiveServer(app) as srv, browser_page() as (page, errors):
        page.goto(srv.url + "/")
        page.set_input_files("#file-footage", footage)
        page.wait_for_selector("#drop-footage[data-state=done]", timeout=30000)
        meta = page.inner_text("#meta-footage")
        assert "320 × 240" in meta and "h264" in meta and "aac" in meta
        assert "Uploaded" in page.inner_text("#progress-footage .progress-text")
        page.check("input[name=mode][value=extract-footage]")
        assert page.evaluate("() => document.getElementById('config-fields').disabled")
        assert page.is_disabled("select[name=quality]")
        page.click("#start-job")
        row = page.locator("#jobs-body tr[data-status=queued]")
        row.wait_for()
        job_id = row.get_attribute("data-job-id")
        assert "waiting in the queue" in row.inner_text()
        assert page.is_visible("#detail-status >> text=Cancel job")
        # a second identical job is refused by the API: its message and code are shown
        page.click("#start-job")
        page.wait_for_selector("#job-error:not([hidden])")
        assert "JOB_ALREADY_PROCESSING" in page.inner_text("#job-error")
        # keyboard: focus survives the polling re-renders, Enter cancels, focus moves to the job's link
        page.focus(f"#job-row-{job_id} button:has-text('Cancel')")
        page.wait_for_timeout(1600)  # several polls (0.3 s, 0.45 s, ...) re-render the row meanwhile
        assert page.evaluate("document.activeElement.dataset.focus") == f"cancel-{job_id}"
        page.keyboard.press("Enter")
        page.wait_for_selector(f"#job-row-{job_id}[data-status=cancelled]")
        assert page.evaluate("document.activeElement.dataset.focus") == f"open-{job_id}"
        assert page.locator(f"#job-row-{job_id} button:has-text('Cancel')").count() == 0
        page.wait_for_selector("#detail-status .badge.cancelled")
        assert unexpected(errors, 409) == []


# -- browser: end to end with the real engine ---------------------------------------


def make_template(path: Path, media_file) -> tuple[Path, np.ndarray]:
    """A 4 s template: two real cockatoo shots (hard cut at 2.0 s) over synthetic 120 BPM drums.

    Returns the path and the drums' true beat times (s): music with an exact beat grid, so
    the timeline's beat lines are drawn from a Style DNA that really has beats.
    """
    from tests.synth.audio import drum_track
    from tests.synth.video import shared_media_frames, write_video

    a = shared_media_frames(media_file("cockatoo.mp4"), start_s=0.0, count=40, size=(320, 180))
    b = shared_media_frames(media_file("cockatoo.mp4"), start_s=8.0, count=40, size=(320, 180))
    drums = drum_track(120.0, 4.0, sr=48000)
    return Path(write_video(path, a + b, fps=20, audio=drums.audio, sample_rate=drums.sr)), drums.beat_times_s


def drop_file(page, selector: str, path: str) -> None:
    """Drag and drop a real file onto ``selector`` (a DataTransfer built in the page from its bytes)."""
    data = base64.b64encode(Path(path).read_bytes()).decode()
    page.evaluate("""([sel, name, b64]) => {
        const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
        const dt = new DataTransfer();
        dt.items.add(new File([bytes], name, {type: 'video/mp4'}));
        const zone = document.querySelector(sel);
        zone.dispatchEvent(new DragEvent('dragover', {dataTransfer: dt, bubbles: true, cancelable: true}));
        zone.dispatchEvent(new DragEvent('drop', {dataTransfer: dt, bubbles: true, cancelable: true}));
    }""", [selector, Path(path).name, data])


def wait_for_job(page, job_id: str, timeout_s: float) -> tuple[str, list[str], list[int]]:
    """Sample the page's progress UI until the job ends: (status, stages seen, percents seen)."""
    stages: list[str] = []
    percents: list[int] = []
    end = time.monotonic() + timeout_s
    while time.monotonic() < end:
        st = page.evaluate("""(id) => {
            const row = document.getElementById('job-row-' + id);
            const p = document.getElementById('detail-progress');
            return row && {status: row.dataset.status, stage: p ? p.dataset.stage : '',
                           percent: p ? Number(p.dataset.percent) : 0, seen: p ? p.dataset.stagesSeen : ''};
        }""", job_id)
        if st:
            if st["stage"] and (not stages or stages[-1] != st["stage"]):
                stages.append(st["stage"])
            for s in filter(None, (st["seen"] or "").split(",")):
                if s not in stages:
                    stages.append(s)
            percents.append(st["percent"])
            if st["status"] in ("completed", "failed", "cancelled"):
                return st["status"], stages, percents
        page.wait_for_timeout(150)
    return "timeout", stages, percents


@pytest.mark.slow
def test_apply_job_end_to_end_in_the_browser(tmp_path, media_file):
    need_browser()
    template, true_beats_s = make_template(tmp_path / "template.mp4", media_file)
    footage = media_file("realshort.mp4")
    key = "e2e-key-5b2f0c"
    # API keys on: the page asks for the key once; <video> and download links use the signed URLs
    app = make_app(tmp_path, CLIPZY_START_RUNNER=True, MAX_CONCURRENT_JOBS=1, CLIPZY_API_KEYS=[key])
    try:
        with LiveServer(app) as srv, browser_page() as (page, errors):
            import requests

            http = requests.Session()
            http.headers["Authorization"] = f"Bearer {key}"
            page.goto(srv.url + "/")
            page.wait_for_selector("#key-dialog", state="visible")
            page.fill("#key-input", key)
            page.click("#key-form button[type=submit]")
            page.wait_for_selector("#key-dialog", state="hidden")
            page.wait_for_selector("#health.ok")
            # template with the file picker, footage by drag and drop
            seen_progress: list[str] = []
            page.expose_function("noteProgress", lambda t: seen_progress.append(t))
            page.evaluate("""() => new MutationObserver(() => window.noteProgress(
                document.querySelector('#progress-template .progress-text').textContent)).observe(
                document.querySelector('#progress-template .progress-text'), {childList: true, characterData: true, subtree: true})""")
            page.set_input_files("#file-template", str(template))
            page.wait_for_selector("#drop-template[data-state=done]", timeout=60000)
            drop_file(page, "#drop-footage", footage)
            page.wait_for_selector("#drop-footage[data-state=done]", timeout=60000)
            assert any(re.search(r"of .* sent \(\d+ %\) · .*/s", t) for t in seen_progress), seen_progress
            assert "4.00 s" in page.inner_text("#meta-template") and "320 × 180" in page.inner_text("#meta-template")
            assert "320 × 240" in page.inner_text("#meta-footage")
            shot(page, "05-uploaded")

            # apply job with a few options set through the form
            page.select_option("select[name=quality]", "low")
            page.select_option("select[name=aspect_ratio]", "1:1")
            page.fill("input[name=resolution]", "240")
            page.locator("#color-strength").fill("0.8")
            assert page.inner_text("#strength-out") == "0.80"
            page.click("#start-job")
            page.wait_for_selector("#detail-status")
            job_id = page.get_attribute("#jobs-body tr[data-job-id]", "data-job-id")
            api = srv.url + "/api/v1/jobs/" + job_id
            cfg = http.get(api, timeout=10).json()["data"]["config"]
            assert cfg["quality"] == "low" and cfg["aspect_ratio"] == "1:1" and cfg["resolution"] == 240
            assert cfg["color_strength"] == pytest.approx(0.8)
            page.wait_for_timeout(300)
            shot(page, "06-job-progress")
            t0 = time.monotonic()
            status, stages, percents = wait_for_job(page, job_id, timeout_s=420)
            job = http.get(api, timeout=10).json()["data"]
            (ARTIFACTS / "e2e-progress.json").write_text(json.dumps(
                {"status": status, "seconds": round(time.monotonic() - t0, 1), "stages_seen": stages,
                 "percents_seen": sorted(set(percents)), "error": job.get("error")}, indent=1))
            assert status == "completed", (status, job.get("error"), stages)
            assert set(stages) <= STAGES and len(stages) >= 2, stages
            nz = [p for p in percents if p]
            assert nz == sorted(nz) and nz[-1] == 100 and len(set(nz)) >= 3, percents

            # the result, rendered from the real Style DNA
            result = http.get(api + "/result", timeout=10).json()["data"]
            dna = result["style_json"]
            page.wait_for_selector("#dna-view")
            assert page.locator("#timeline rect.shot").count() == len(dna["shots"]) >= 1
            assert page.locator("#timeline .transition").count() == len(dna["transitions"])
            beats_ms = dna["beats"]["beat_times_ms"]
            assert page.locator("#timeline line.beat").count() == len(beats_ms) >= 1, (dna["tempo_bpm"], true_beats_s)
            # each beat line sits at its time on the 10..990 axis of the 1000-wide viewBox
            xs = page.eval_on_selector_all("#timeline line.beat", "ls => ls.map(l => Number(l.getAttribute('x1')))")
            dur_ms = dna["source_duration_seconds"] * 1000
            assert xs == pytest.approx([10 + 980 * min(1, t / dur_ms) for t in beats_ms], abs=0.01)
            assert page.locator("#timeline line.downbeat").count() == len(dna["beats"]["downbeat_times_ms"])
            assert page.locator("#timeline rect.motion-bar").count() == len(dna["shots"])
            pal = dna["color_profile"]["palette"]
            chips = page.locator("#dna-view .palette .chip")
            assert chips.count() == len(pal) >= 1
            rgb = chips.first.evaluate("e => getComputedStyle(e).backgroundColor")
            h = pal[0]["hex"]
            assert rgb == f"rgb({int(h[1:3], 16)}, {int(h[3:5], 16)}, {int(h[5:7], 16)})"
            for k, v in dna["color_grade"].items():
                row = page.locator(f"#dna-view .grade-row[data-grade={k}]")
                assert row.count() == 1
                if v is not None:
                    assert float(row.locator(".grade-val").inner_text()) == pytest.approx(v, abs=0.051)
            page.click("#raw-toggle")
            assert json.loads(page.inner_text("#raw-json")) == dna

            # output video plays (Range) and sits beside template and footage
            assert "token=" in page.get_attribute("#vid-output", "src")
            page.wait_for_function("() => { const v = document.getElementById('vid-output'); return v && v.readyState >= 1 && v.duration > 0; }",
                                   timeout=30000)
            page.evaluate("() => { const v = document.getElementById('vid-output'); v.muted = true; return v.play(); }")
            page.wait_for_function("() => document.getElementById('vid-output').currentTime > 0.1", timeout=30000)
            page.evaluate("() => document.getElementById('vid-output').pause()")
            for vid in ("vid-template", "vid-footage"):
                page.wait_for_function(f"() => document.getElementById('{vid}').readyState >= 1")
            assert page.evaluate("document.getElementById('vid-output').duration") == pytest.approx(
                result["output_metadata"]["duration_seconds"], abs=0.2)
            # split view: a frame is drawn (not all black) once both videos have seeked
            page.wait_for_function("""() => { const c = document.querySelector('#split-view canvas');
                const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                let s = 0; for (let i = 0; i < d.length; i += 97) s += d[i]; return s > 0; }""", timeout=30000)
            page.locator("#split-divider").fill("30")
            # every download link answers 200 (the MP4, the LUT, the edit plan, the Style DNA)
            links = page.eval_on_selector_all("#detail-result a[data-artifact]", "as => as.map(a => [a.dataset.artifact, a.href])")
            assert {k for k, _ in links} >= {"output", "lut", "edit_plan", "style_dna"}, links
            for name, href in links:
                assert "token=" in href, href  # signed: a link cannot send the Authorization header
                resp = page.request.get(href)
                assert resp.status == 200, (name, href, resp.status)
                if name == "lut":
                    assert "LUT_3D_SIZE" in resp.text()
            shot(page, "07-result")
            page.locator("#vid-output").scroll_into_view_if_needed()
            shot(page, "08-apply-views", full_page=False)

            # an extract-only job of the footage, then compare the two Style DNAs
            page.check("input[name=mode][value=extract-footage]")
            page.click("#start-job")
            page.wait_for_function("(id) => { const r = document.querySelector('#jobs-body tr[data-job-id]'); return r && r.dataset.jobId !== id; }", arg=job_id)
            job2 = page.get_attribute("#jobs-body tr[data-job-id]", "data-job-id")
            status2, _, _ = wait_for_job(page, job2, timeout_s=180)
            assert status2 == "completed", http.get(srv.url + "/api/v1/jobs/" + job2, timeout=10).json()
            page.select_option("#compare-a", job_id)
            page.select_option("#compare-b", job2)
            page.click("#compare-form button[type=submit]")
            page.wait_for_selector("#compare-summary")
            assert page.get_attribute("tr[data-field='resolution.height']", "class") == "diff"  # 180 vs 240
            assert page.get_attribute("tr[data-field='frame_rate']", "class") == "diff"  # 20 vs 30.02
            assert page.get_attribute("tr[data-field='version']", "class") == "same"
            page.check("#compare-only-diff")
            assert not page.is_visible("tr[data-field='version']")
            page.locator("#compare").scroll_into_view_if_needed()
            shot(page, "09-compare")
            phone, phone_errors = open_page(page.context.browser, viewport={"width": 390, "height": 844})
            phone.add_init_script(f"sessionStorage.setItem('clipzy.apiKey', {json.dumps(key)})")
            phone.goto(srv.url + "/#job=" + job_id)
            phone.wait_for_selector("#dna-view")
            assert phone.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
            phone.locator("#detail").scroll_into_view_if_needed()
            shot(phone, "10-result-phone")
            assert phone_errors == []
            assert unexpected(errors, 401) == []  # only the first, keyless requests were refused
    finally:
        clipzy.stop_workers(app)


def test_failed_job_shows_the_stage_and_error_code(tmp_path, media_file):
    """A job over PROCESSING_TIMEOUT_SECONDS fails with JOB_TIMEOUT: the row and the detail say so.

    The clip (14 s of 720p) takes seconds to analyse, far over the 0.3 s limit.
    """
    need_browser()
    footage = media_file("cockatoo.mp4")
    app = make_app(tmp_path, CLIPZY_START_RUNNER=True, MAX_CONCURRENT_JOBS=1, PROCESSING_TIMEOUT_SECONDS=0.3)
    try:
        with LiveServer(app) as srv, browser_page() as (page, errors):
            page.goto(srv.url + "/")
            page.set_input_files("#file-footage", footage)
            page.wait_for_selector("#drop-footage[data-state=done]", timeout=30000)
            page.check("input[name=mode][value=extract-footage]")
            page.click("#start-job")
            page.wait_for_selector("#jobs-body tr[data-job-id]")
            job_id = page.get_attribute("#jobs-body tr[data-job-id]", "data-job-id")
            client = app.test_client()
            end = time.monotonic() + 120
            while time.monotonic() < end:
                job = client.get(f"/api/v1/jobs/{job_id}").get_json()["data"]
                if job["status"] in ("completed", "failed", "cancelled"):
                    break
                time.sleep(0.25)
            assert job["status"] == "failed", job
            page.wait_for_selector(f"#job-row-{job_id}[data-status=failed]", timeout=15000)
            assert job["error"]["code"] == "JOB_TIMEOUT"
            assert "JOB_TIMEOUT" in page.inner_text(f"#job-row-{job_id}")
            page.wait_for_selector("#detail-status .error")
            detail = page.inner_text("#detail-status .error")
            assert "JOB_TIMEOUT" in detail and job["error"]["message"] in detail
            if job["error"]["stage"]:
                assert page.get_attribute(f"#detail-status .stepper li[data-stage={job['error']['stage']}]", "class").startswith("failed")
            assert page.locator("#detail-status button:has-text('Cancel job')").count() == 0
            shot(page, "11-failed-job", full_page=False)
            assert errors == []
    finally:
        clipzy.stop_workers(app)


# -- browser: several clips, a song, saved styles (API v1.1) --------------------------


def make_clips(folder: Path, media_file) -> dict[str, Path]:
    """Three tiny footage clips (160×90, 2 s, no sound): cockatoo, Big Buck Bunny and an all-black one."""
    from tests.synth.video import shared_media_frames, write_video

    cockatoo = shared_media_frames(media_file("cockatoo.mp4"), start_s=3.0, count=40, size=(160, 90))
    bunny = shared_media_frames(media_file("bigbuckbunny.mp4"), start_s=1.0, count=50, size=(160, 90))
    black = [np.zeros((90, 160, 3), np.uint8)] * 40
    return {"alpha.mp4": Path(write_video(folder / "alpha.mp4", cockatoo, fps=20)),
            "bravo.mp4": Path(write_video(folder / "bravo.mp4", bunny, fps=25)),
            "charlie.mp4": Path(write_video(folder / "charlie.mp4", black, fps=20))}


def make_small_template(path: Path, media_file) -> Path:
    """A 3 s template at 160×90: three cockatoo shots (hard cuts at 1 s and 2 s) over 120 BPM drums."""
    from tests.synth.audio import drum_track
    from tests.synth.video import shared_media_frames, write_video

    frames = []
    for start in (0.0, 8.0, 11.0):
        frames += shared_media_frames(media_file("cockatoo.mp4"), start_s=start, count=20, size=(160, 90))
    drums = drum_track(120.0, 3.0, sr=48000)
    return Path(write_video(path, frames, fps=20, audio=drums.audio, sample_rate=drums.sr))


SONG_S, SONG_SILENT_S = 8.0, 2.0


def make_song(path: Path) -> Path:
    """An 8 s WAV: 2 s of silence, then 100 BPM drums (so the waveform is flat, then not)."""
    from tests.synth.audio import drum_track
    from tests.synth.video import write_wav

    drums = drum_track(100.0, SONG_S - SONG_SILENT_S, sr=44100, offset_s=SONG_SILENT_S)
    return Path(write_wav(path, drums.audio, sample_rate=44100))


def clip_order(page) -> list[str]:
    return page.eval_on_selector_all("#clip-list li.clip", "ls => ls.map(l => l.dataset.videoId)")


def clip_names(page) -> list[str]:
    return page.eval_on_selector_all("#clip-list li.clip .clip-name strong", "ss => ss.map(s => s.textContent)")


def job_posts(page) -> list[dict]:
    """Collects the JSON bodies the page POSTs to /api/v1/jobs."""
    bodies: list[dict] = []
    page.on("request", lambda req: bodies.append(json.loads(req.post_data))
            if req.method == "POST" and req.url.endswith("/api/v1/jobs") else None)
    return bodies


def marker_fraction(page, marker: str) -> float:
    """Where ``marker`` sits over the waveform canvas: 0 (left edge) … 1 (right edge), from the layout."""
    return page.evaluate("""(sel) => { const c = document.getElementById('waveform').getBoundingClientRect();
        const m = document.querySelector(sel).getBoundingClientRect();
        return (m.left + m.width / 2 - c.left) / c.width; }""", marker)


WAVE_COLUMNS_JS = """() => { const c = document.getElementById('waveform');
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
    const heights = [];
    for (let x = 0; x < c.width; x++) { let n = 0; for (let y = 0; y < c.height; y++) if (d[(y * c.width + x) * 4 + 3] > 0) n++; heights.push(n); }
    return heights; }"""


def test_clip_list_song_waveform_and_the_job_body(tmp_path, media_file):
    """Three clips reordered (keyboard and drag) and one removed, a song with its waveform and start
    marker; the job is created with footage_video_ids in the list's order and the song."""
    need_browser()
    clips = make_clips(tmp_path, media_file)
    template = make_small_template(tmp_path / "template.mp4", media_file)
    song = make_song(tmp_path / "song.wav")
    app = make_app(tmp_path)
    client = app.test_client()
    with LiveServer(app) as srv, browser_page() as (page, errors):
        posts = job_posts(page)
        page.goto(srv.url + "/")
        page.wait_for_selector("#health.ok")
        page.set_input_files("#file-template", str(template))
        page.wait_for_selector("#drop-template[data-state=done]", timeout=30000)
        # three clips in one pick: uploaded one after the other, listed in that order
        page.set_input_files("#file-footage", [str(p) for p in clips.values()])
        page.wait_for_selector("#drop-footage[data-state=done]", timeout=60000)
        assert "File 3 of 3: Uploaded" in page.inner_text("#progress-footage .progress-text")
        assert clip_names(page) == ["alpha.mp4", "bravo.mp4", "charlie.mp4"]
        ids = dict(zip(clip_names(page), clip_order(page)))
        for name, vid in ids.items():
            assert re.fullmatch(r"vid_[0-9a-f]{16}", vid)
            assert client.get(f"/api/v1/videos/{vid}").get_json()["data"]["filename"] == name
        assert page.input_value("#job-footage") == ", ".join(ids[n] for n in ["alpha.mp4", "bravo.mp4", "charlie.mp4"])
        a, b, c = ids["alpha.mp4"], ids["bravo.mp4"], ids["charlie.mp4"]
        assert page.is_disabled(f"[data-focus=clip-up-{a}]") and page.is_disabled(f"[data-focus=clip-down-{c}]")

        # keyboard: Enter and Space on "Move up" move charlie to the top; focus stays with charlie
        page.focus(f"[data-focus=clip-up-{c}]")
        page.keyboard.press("Enter")
        assert clip_order(page) == [a, c, b]
        assert page.evaluate("document.activeElement.dataset.focus") == f"clip-up-{c}"
        page.keyboard.press("Space")
        assert clip_order(page) == [c, a, b]
        # at the top "Move up" is disabled: focus moves to the clip's "Move down"
        assert page.evaluate("document.activeElement.dataset.focus") == f"clip-down-{c}"
        assert page.inner_text("#clips-status") == "charlie.mp4 moved to position 1 of 3."
        assert page.eval_on_selector_all("#clip-list .clip-pos", "ps => ps.map(p => p.textContent)") == ["1", "2", "3"]
        # drag: bravo dropped on charlie takes its place
        page.drag_and_drop(f"#clip-list li[data-video-id={b}]", f"#clip-list li[data-video-id={c}]")
        assert clip_order(page) == [b, c, a]
        # remove bravo by keyboard: focus lands on the next clip's Remove; the order left ([c, a])
        # is not the upload order ([a, c])
        page.focus(f"[data-focus=clip-remove-{b}]")
        page.keyboard.press("Enter")
        assert clip_order(page) == [c, a]
        assert page.evaluate("document.activeElement.dataset.focus") == f"clip-remove-{c}"
        assert page.input_value("#job-footage") == f"{c}, {a}"
        assert page.inner_text("#clips-status") == "bravo.mp4 removed; 2 clips left."

        # the song: uploaded, its waveform drawn in the page from the local file
        page.set_input_files("#file-song", str(song))
        page.wait_for_selector("#song-wave[data-drawn]", timeout=30000)
        audio_id = page.input_value("#job-song")
        assert re.fullmatch(r"aud_[0-9a-f]{16}", audio_id)
        assert "8.00 s" in page.inner_text("#meta-song") and audio_id in page.inner_text("#meta-song")
        heights = page.evaluate(WAVE_COLUMNS_JS)
        cut = int(len(heights) * SONG_SILENT_S / SONG_S)
        assert max(heights[:cut - 4]) <= 2, "the silent first 2 s draw a flat line"
        assert max(heights[cut + 4:]) >= 15 and sum(h > 4 for h in heights[cut:]) > 0.3 * (len(heights) - cut), "the drums draw a wave"
        # no start set: automatic, no marker; a start of 5 s puts the marker 5/8 across
        assert not page.is_visible("#song-marker-user")
        assert "automatic" in page.inner_text("#song-start")
        page.fill("#music-start", "5")
        page.wait_for_selector("#song-marker-user", state="visible")
        assert marker_fraction(page, "#song-marker-user") == pytest.approx(5 / SONG_S, abs=0.005)
        assert "Your start: 5.00 s." in page.inner_text("#song-start")
        page.fill("#music-start", "")
        page.wait_for_selector("#song-marker-user", state="hidden")
        page.fill("#music-start", "3.5")
        assert marker_fraction(page, "#song-marker-user") == pytest.approx(3.5 / SONG_S, abs=0.005)
        shot(page, "12-clips-and-song")

        # the apply job: the clips in the displayed order, the song, the v1.1 options
        page.select_option("select[name=footage_order]", "any")
        page.select_option("select[name=audio_source]", "music")
        page.click("#start-job")
        page.wait_for_selector("#detail-status .badge.queued")
        job_id = page.get_attribute("#jobs-body tr[data-job-id]", "data-job-id")
        assert posts[-1]["footage_video_ids"] == clip_order(page) == [c, a]
        assert "video_id" not in posts[-1] and posts[-1]["music_audio_id"] == audio_id
        job = client.get(f"/api/v1/jobs/{job_id}").get_json()["data"]
        assert job["footage_video_ids"] == [c, a] and job["video_id"] == c
        assert job["music_audio_id"] == audio_id and job["style_id"] is None
        assert job["template_video_id"] == page.input_value("#job-template")
        assert job["config"]["footage_order"] == "any" and job["config"]["audio_source"] == "music"
        assert job["config"]["music_start_seconds"] == 3.5
        assert "2 clips" in page.inner_text("#detail-status") and audio_id in page.inner_text("#detail-status")
        assert "2 clips" in page.inner_text(f"#job-row-{job_id}")

        # one clip left: the v1.0 body (video_id alone)
        page.click(f"[data-focus=clip-remove-{c}]")
        page.click("#start-job")
        page.wait_for_function("(id) => { const r = document.querySelector('#jobs-body tr[data-job-id]'); return r && r.dataset.jobId !== id; }", arg=job_id)
        assert posts[-1]["video_id"] == a and "footage_video_ids" not in posts[-1]
        job2 = client.get(f"/api/v1/jobs/{page.get_attribute('#jobs-body tr[data-job-id]', 'data-job-id')}").get_json()["data"]
        assert job2["footage_video_ids"] == [a]

        # ids typed by hand: the list follows the field; a clip uploaded elsewhere is named from
        # GET /videos/{id}, an unknown id is marked
        other = upload_file(client, str(clips["alpha.mp4"]), name="delta.mp4").get_json()["data"]["video_id"]
        missing = "vid_" + "0" * 16
        page.fill("#job-footage", f"{other}, {b}, {missing}")
        page.dispatch_event("#job-footage", "change")
        assert clip_order(page) == [other, b, missing]
        page.wait_for_function("() => document.querySelectorAll('#clip-list li.missing').length === 1")
        page.wait_for_function("(n) => document.querySelector('#clip-list li .clip-name strong').textContent === n", arg="delta.mp4")
        assert clip_names(page) == ["delta.mp4", "bravo.mp4", missing]
        assert "not found (VIDEO_NOT_FOUND)" in page.inner_text(f"#clip-list li[data-video-id={missing}]")

        # the phone layout still fits
        page.set_viewport_size({"width": 390, "height": 844})
        page.wait_for_timeout(100)
        assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
        shot(page, "13-clips-phone")
        assert unexpected(errors, 404) == []  # the unknown id's GET /videos/{id}


def output_frames(mp4: bytes, times_s: list[float], tmp_path: Path) -> list[np.ndarray]:
    """The RGB output frame shown at each time (decoded with PyAV, independently of the browser)."""
    import av

    path = tmp_path / "output-check.mp4"
    path.write_bytes(mp4)
    with av.open(str(path)) as c:
        frames = [(f.time, f.to_ndarray(format="rgb24")) for f in c.decode(video=0)]
    out = []
    for t in times_s:
        shown = [img for ft, img in frames if ft <= t + 1e-6]
        out.append(shown[-1] if shown else frames[0][1])
    return out


def grey16x9(rgb: np.ndarray) -> np.ndarray:
    """A 16×9 grey thumbnail (area average) to compare pictures of different sizes."""
    import cv2

    return cv2.resize(cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY), (16, 9), interpolation=cv2.INTER_AREA).astype(float)


@pytest.mark.slow
def test_several_clips_and_a_song_end_to_end_then_a_saved_style(tmp_path, media_file):
    """A small apply job with three clips (one black) and a song runs to completion: the shot strip
    shows one cell per plan segment with its clip, the black clip is greyed with its reason, the
    song's marker moves to the chosen start; the style is saved, listed, applied and deleted."""
    need_browser()
    clips = make_clips(tmp_path, media_file)
    template = make_small_template(tmp_path / "template.mp4", media_file)
    song = make_song(tmp_path / "song.wav")
    app = make_app(tmp_path, CLIPZY_START_RUNNER=True, MAX_CONCURRENT_JOBS=1)
    client = app.test_client()
    try:
        with LiveServer(app) as srv, browser_page() as (page, errors):
            posts = job_posts(page)
            page.goto(srv.url + "/")
            page.wait_for_selector("#health.ok")
            page.set_input_files("#file-template", str(template))
            page.set_input_files("#file-song", str(song))
            page.set_input_files("#file-footage", [str(p) for p in clips.values()])
            for role in ("template", "song", "footage"):
                page.wait_for_selector(f"#drop-{role}[data-state=done]", timeout=60000)
            page.wait_for_selector("#song-wave[data-drawn]", timeout=30000)
            order = clip_order(page)
            names = dict(zip(order, clip_names(page)))
            assert list(names.values()) == ["alpha.mp4", "bravo.mp4", "charlie.mp4"]
            page.select_option("select[name=quality]", "low")
            page.fill("input[name=resolution]", "240")
            page.click("#start-job")
            page.wait_for_selector("#detail-status")
            job_id = page.get_attribute("#jobs-body tr[data-job-id]", "data-job-id")
            assert posts[-1]["footage_video_ids"] == order
            status, _, _ = wait_for_job(page, job_id, timeout_s=240)
            api = f"/api/v1/jobs/{job_id}"
            assert status == "completed", client.get(api).get_json()["data"]["error"]
            with client.get(api + "/artifacts/edit_plan") as resp:
                plan = resp.get_json()
            segs = plan["segments"]
            assert {s["video_id"] for s in segs} == set(order[:2]), "both usable clips are used, the black one is not"

            # the strip: one cell per segment, its clip's position and file name, width ∝ duration
            page.wait_for_selector("#clips-view .shot-strip-wrap[data-thumbs=done]", timeout=30000)
            cells = page.eval_on_selector_all("#shot-strip li.shot-cell", """cs => cs.map(c => ({
                video: c.dataset.videoId, label: c.querySelector('.shot-label').textContent,
                width: c.getBoundingClientRect().width, at: Number(c.dataset.drawnAt)}))""")
            assert len(cells) == len(segs) >= 2
            for cell, seg in zip(cells, segs):
                pos = order.index(seg["video_id"]) + 1
                assert cell["video"] == seg["video_id"]
                assert cell["label"] == f"Shot {seg['index'] + 1}: {pos} · {names[seg['video_id']]}"
                mid_s = (seg["output_in_ms"] + seg["output_out_ms"]) / 2000
                assert cell["at"] == pytest.approx(mid_s, abs=0.03)
            total_w = sum(c["width"] for c in cells)
            total_ms = plan["output"]["duration_ms"]
            for cell, seg in zip(cells, segs):
                assert cell["width"] / total_w == pytest.approx((seg["output_out_ms"] - seg["output_in_ms"]) / total_ms, abs=0.01)
            # each thumbnail is the output's frame at the segment's middle: its 16×9 grey picture is
            # close to that frame's and farther from the frames of the segments of the other clip
            thumbs = [grey16x9(np.array(px, np.uint8).reshape(h, w, 4)[..., :3]) for w, h, px in page.eval_on_selector_all(
                "#shot-strip canvas.shot-thumb", "cs => cs.map(c => [c.width, c.height, Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data)])")]
            with client.get(api + "/output") as resp:
                mp4 = resp.get_data()
            truth = [grey16x9(f) for f in output_frames(mp4, [(s["output_in_ms"] + s["output_out_ms"]) / 2000 for s in segs], tmp_path)]
            for i, seg in enumerate(segs):
                own = float(np.abs(thumbs[i] - truth[i]).mean())
                assert own < 8, (i, own)
                for j, other in enumerate(segs):
                    if other["video_id"] != seg["video_id"]:
                        assert float(np.abs(thumbs[i] - truth[j]).mean()) > own + 8, (i, j, own)

            # the selection: every clip, the black one greyed with its reason
            sel = page.eval_on_selector_all("#selection-list li", """ls => ls.map(l => ({video: l.dataset.videoId,
                reason: l.dataset.reason, text: l.textContent, opacity: Number(getComputedStyle(l).opacity)}))""")
            assert [s["video"] for s in sel] == [s["video_id"] for s in plan["selection"]] == order
            black = sel[2]
            assert plan["selection"][2]["reason"] == "black" and black["reason"] == "black"
            assert "Clip 3 · charlie.mp4" in black["text"] and "not usable: black" in black["text"]
            assert black["opacity"] < 0.8
            for s in sel[:2]:
                assert s["opacity"] == 1 and "used " in s["text"] and "not usable" not in s["text"]

            # the song's marker: at the start the engine chose (the plan's music_start_ms)
            start_ms = plan["soundtrack"]["music_start_ms"]
            assert plan["soundtrack"]["audio_id"] == page.input_value("#job-song")
            page.wait_for_selector("#song-marker-chosen", state="visible")
            assert float(page.get_attribute("#song-marker-chosen", "data-seconds")) == start_ms / 1000
            assert marker_fraction(page, "#song-marker-chosen") == pytest.approx(start_ms / 1000 / SONG_S, abs=0.005)
            assert f"starts at {start_ms / 1000:.2f} s" in page.inner_text("#song-start")
            assert "chosen by the engine" in page.inner_text("#soundtrack-note")
            page.locator("#clips-view").scroll_into_view_if_needed()
            shot(page, "14-shots-and-clips", full_page=False)

            # save the style under a name: listed with its summary, offered in the job form
            page.fill("#save-style-name", "Cockatoo cut")
            page.click("#save-style")
            page.wait_for_selector("#save-style-status >> text=Saved as")
            styles = client.get("/api/v1/styles").get_json()["data"]["styles"]
            assert [s["name"] for s in styles] == ["Cockatoo cut"] and styles[0]["source_job_id"] == job_id
            style = styles[0]
            row = page.locator(f"#style-row-{style['style_id']}")
            row.wait_for()
            assert "Cockatoo cut" in row.inner_text()
            sm = style["summary"]
            assert float(row.locator("[data-field=cut_frequency]").inner_text()) == pytest.approx(sm["cut_frequency"], abs=0.051)
            tempo = row.locator("[data-field=tempo_bpm]").inner_text()
            if sm["tempo_bpm"] is None:
                assert tempo == "no music"
            else:
                assert tempo.endswith(" BPM") and float(tempo[:-4]) == pytest.approx(sm["tempo_bpm"], abs=0.051)
            assert row.locator("[data-field=primary_transition]").inner_text().startswith(sm["primary_transition"]["type"])
            assert row.locator(".swatches .chip").count() == len(sm["palette"]) >= 1
            assert page.eval_on_selector_all("#job-style option", "os => os.map(o => o.value)") == ["", style["style_id"]]
            page.locator("#styles").scroll_into_view_if_needed()
            shot(page, "15-saved-styles", full_page=False)

            # start a job from it: style_id is sent instead of template_video_id
            row.locator("button:has-text('Use')").click()
            assert page.input_value("#job-style") == style["style_id"]
            assert page.is_disabled("#job-template")
            assert page.is_disabled("select[name=audio_source] option[value=template]")
            page.click("#start-job")
            page.wait_for_function("(id) => { const r = document.querySelector('#jobs-body tr[data-job-id]'); return r && r.dataset.jobId !== id; }", arg=job_id)
            styled = page.get_attribute("#jobs-body tr[data-job-id]", "data-job-id")
            assert posts[-1]["style_id"] == style["style_id"] and "template_video_id" not in posts[-1]
            job = client.get(f"/api/v1/jobs/{styled}").get_json()["data"]
            assert job["style_id"] == style["style_id"] and job["template_video_id"] is None and job["mode"] == "apply"
            assert "saved style “Cockatoo cut”" in page.inner_text("#detail-status")
            client.post(f"/api/v1/jobs/{styled}/cancel")
            page.wait_for_selector(f"#job-row-{styled}[data-status=cancelled]", timeout=15000)

            # delete it: the first press asks, the second deletes
            delete = page.locator(f"#style-row-{style['style_id']} button.danger")
            delete.click()
            assert delete.inner_text() == "Confirm delete"
            assert client.get("/api/v1/styles").get_json()["data"]["total"] == 1
            delete.click()
            page.wait_for_selector("#styles-body >> text=No saved styles yet.")
            assert client.get("/api/v1/styles").get_json()["data"]["total"] == 0
            assert page.eval_on_selector_all("#job-style option", "os => os.map(o => o.value)") == [""]
            assert "Deleted the style “Cockatoo cut”." in page.inner_text("#styles-status")

            # the result on a phone: the strip scrolls inside its box, the page does not overflow
            phone, phone_errors = open_page(page.context.browser, viewport={"width": 390, "height": 844})
            phone.goto(srv.url + "/#job=" + job_id)
            phone.wait_for_selector("#clips-view .shot-strip-wrap[data-thumbs=done]", timeout=30000)
            assert phone.locator("#shot-strip li.shot-cell").count() == len(segs)
            assert phone.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
            phone.locator("#clips-view").scroll_into_view_if_needed()
            shot(phone, "16-shots-phone", full_page=False)
            assert phone_errors == []
            assert errors == []
    finally:
        clipzy.stop_workers(app)
