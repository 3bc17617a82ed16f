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
from tests.conftest import ROOT, need

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
