"""A test-only WSGI entry point: the real app with slow, controllable stage functions.

``gunicorn -c gunicorn.conf.py --pythonpath tests slow_wsgi:app`` serves the real
``clipzy.create_app()`` (configuration from the environment, as in production) whose
job pool runs the stages below instead of the engine, so crash and disk tests can kill
or starve a server at a known point of a job without depending on the analysers.

What a job does depends on tags in the ORIGINAL file name of its ``video_id`` (the
footage): ``slowanalysis`` makes ``video_analysis`` last ``CLIPZY_TEST_SLOW_S`` seconds;
``slowrender`` makes ``rendering`` last that long; ``fail`` makes ``video_analysis``
raise; ``bigrender`` makes the render write ``CLIPZY_TEST_BIG_RENDER_BYTES`` bytes
(default 64 MiB) as fast as the disk takes them; ``decode`` makes ``video_analysis``
decode the footage with FFmpeg (frame threads) over and over for ``CLIPZY_TEST_SLOW_S``
seconds: real CPU work on every core, like the engine's analysis pass. Untagged jobs take about 0.1 s per job. ``CLIPZY_TEST_HOLD_S``
(default 0) holds every job that long at the start of ``video_analysis``.

Artifacts are written like the engine must write them: ``style_dna.json`` and
``edit_plan.json`` through a ``.part`` name and ``os.replace``; the render streams into
``output.mp4.part`` (the footage bytes followed by zero padding up to
``CLIPZY_TEST_RENDER_BYTES``, default 4 MiB) and renames it only when complete.
"""
from __future__ import annotations

import os
import time

from dataclasses import replace

from clipzy import create_app
from clipzy.engine.control import Control
from clipzy.engine.files import write_json_atomic
from clipzy.engine.pipeline import STAGES, JobState

CHUNK = 256 * 1024  # bytes per render write


def slow_seconds() -> float:
    """Seconds a tagged slow stage lasts (``CLIPZY_TEST_SLOW_S``, default 60)."""
    return float(os.environ.get("CLIPZY_TEST_SLOW_S", "60"))


def render_bytes() -> int:
    """Total bytes of a rendered output (``CLIPZY_TEST_RENDER_BYTES``, default 4 MiB)."""
    return int(os.environ.get("CLIPZY_TEST_RENDER_BYTES", str(4 * 1024 * 1024)))


def _video(state: JobState):
    """The job's ``video_id`` (the footage of an apply job, the video of an extract job)."""
    return state.footage[0] if state.footage else state.style_source


def _tags(state: JobState) -> str:
    return _video(state).name.lower()


def _wait(control: Control, seconds: float) -> None:
    """Sleep ``seconds`` in 50 ms steps, reporting progress and honouring cancel/deadline."""
    control.check()
    if seconds <= 0:
        return
    end = time.monotonic() + seconds
    while True:
        control.check()
        left = end - time.monotonic()
        control.progress(1.0 - max(0.0, left) / seconds)
        if left <= 0:
            return
        time.sleep(min(0.05, left))


def _decode_for(path: str, control: Control, seconds: float) -> int:
    """Decode ``path`` (all its frames, threaded) again and again for ``seconds``; returns frames decoded."""
    import av

    end = time.monotonic() + seconds
    frames = 0
    while True:
        with av.open(path) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            for _frame in container.decode(stream):
                frames += 1
                if frames % 8 == 0:
                    control.check()
                    left = end - time.monotonic()
                    control.progress(1.0 - max(0.0, left) / seconds)
                    if left <= 0:
                        return frames


def video_analysis(state: JobState, control: Control) -> None:
    tags = _tags(state)
    if "fail" in tags:
        raise RuntimeError("test stage failure (file name tagged 'fail')")
    _wait(control, float(os.environ.get("CLIPZY_TEST_HOLD_S", "0")))
    if "decode" in tags:
        _decode_for(_video(state).path, control, slow_seconds())
        return
    _wait(control, slow_seconds() if "slowanalysis" in tags else 0.02)


def short(state: JobState, control: Control) -> None:
    _wait(control, 0.02)


def style_extraction(state: JobState, control: Control) -> None:
    job_id = os.path.basename(os.path.dirname(state.artifacts.style_dna))
    write_json_atomic(state.artifacts.style_dna, {"version": "test", "job_id": job_id})


def style_application(state: JobState, control: Control) -> None:
    write_json_atomic(state.artifacts.edit_plan, {"segments": []})


def rendering(state: JobState, control: Control) -> None:
    """Stream the output into ``output.mp4.part``, then rename it into place."""
    tags = _tags(state)
    video_path = _video(state).path
    final = state.artifacts.output
    part = final + ".part"
    big = int(os.environ.get("CLIPZY_TEST_BIG_RENDER_BYTES", str(64 * 1024 * 1024)))
    total = max(big if "bigrender" in tags else render_bytes(), os.path.getsize(video_path))
    seconds = slow_seconds() if "slowrender" in tags else (0.0 if "bigrender" in tags else 0.05)
    chunks = max(1, -(-total // CHUNK))
    pause = seconds / chunks
    written = 0
    with open(video_path, "rb") as src, open(part, "wb") as out:
        while written < total:
            control.check()
            data = src.read(min(CHUNK, total - written)) or bytes(min(CHUNK, total - written))
            out.write(data)
            out.flush()
            written += len(data)
            control.progress(written / total)
            if pause:
                time.sleep(pause)
        os.fsync(out.fileno())
    os.replace(part, final)
    state.output_metadata = None


STEPS = {"video_analysis": video_analysis, "audio_analysis": short, "motion_analysis": short,
         "style_extraction": style_extraction, "style_application": style_application, "rendering": rendering}
STAND_INS = [replace(stage, run=STEPS[stage.name]) for stage in STAGES]


def stages_for(state: JobState) -> list:
    """The engine's stage list (four stages without a template, six with one), stand-in steps."""
    return [s for s in STAND_INS if state.mode == "apply" or not s.apply_only]


app = create_app({"CLIPZY_STAGES_FOR": stages_for})
