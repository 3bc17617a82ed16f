"""A file that stops decoding early is measured on what decoded (STYLE_DNA.md, ``analysis.coverage``).

The clip is a faststart MP4 (index first) of 4 s with a hard cut at 1.0 s and at 3.0 s, cut
to 45 % of its bytes: the container still claims 4 s, but frames decode only up to about
half of it. The Style DNA must describe the decoded part (duration, last shot, cut
frequency, coverage, confidence), and an apply job must never plan footage past it.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from clipzy.engine import pipeline
from clipzy.engine.media import FramePump, probe
from synth.hostile import encode

FPS = 25
W, H = 96, 64


def _shot(colour: tuple[int, int, int], n: int, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    base = np.clip(rng.normal(0, 18, (H, W, 3)) + np.array(colour), 0, 255)
    return [np.clip(base + i, 0, 255).astype(np.uint8) for i in range(n)]


@pytest.fixture(scope="module")
def truncated(tmp_path_factory):
    d = tmp_path_factory.mktemp("partial")
    frames = _shot((200, 60, 40), FPS, 1) + _shot((40, 90, 200), 2 * FPS, 2) + _shot((60, 200, 80), FPS, 3)
    t = np.arange(4 * 48000) / 48000
    audio = (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[:, None].repeat(2, axis=1)
    whole = encode(str(d / "whole.mp4"), frames, fmt="mp4", options={"g": "5", "bf": "0"}, audio=audio,
                   mux_options={"movflags": "+faststart"})
    data = Path(whole).read_bytes()
    path = d / "half.mp4"
    path.write_bytes(data[: int(len(data) * 0.45)])
    return str(whole), str(path)


def test_decode_pump_reports_what_really_decoded(truncated):
    whole, half = truncated
    info = probe(half)
    assert info.duration_seconds == pytest.approx(4.0, abs=0.05)  # the container's claim

    class Count:
        frame_size, every_s = (32, 20), 0.0

        def push(self, image, t_s):
            pass

    pump = FramePump(half, [Count()], info=info)
    pump.run()
    assert 0.5 < pump.decoded_duration_s < 3.0, pump.decoded_duration_s
    full = FramePump(whole, [Count()], info=probe(whole))
    full.run()
    assert full.decoded_duration_s == pytest.approx(4.0, abs=1e-6) and not full.stopped_early


def test_style_dna_describes_the_decoded_part(truncated, with_models):
    whole, half = truncated
    dna = pipeline.extract_style(half, models=with_models)
    full = pipeline.extract_style(whole, models=with_models)
    decoded = dna["analysis"]["decoded_duration_seconds"]
    assert 0.5 < decoded < 3.0
    assert dna["source_duration_seconds"] == pytest.approx(decoded, abs=1e-3)
    assert dna["analysis"]["coverage"] == pytest.approx(decoded / 4.0, abs=0.01)
    assert dna["shots"][-1]["end_ms"] == pytest.approx(decoded * 1000, abs=1)
    cuts = len(dna["transitions"])
    assert dna["cut_frequency"] == pytest.approx(cuts / (decoded / 60.0), rel=0.01)
    assert dna["extraction_confidence"] <= dna["analysis"]["coverage"] + 1e-9
    # the whole file: full coverage, the same measurement as before
    assert full["analysis"]["coverage"] == 1.0 and full["source_duration_seconds"] == pytest.approx(4.0, abs=0.01)
    assert dna["extraction_confidence"] < full["extraction_confidence"]


def test_apply_never_plans_footage_past_the_decoded_end(truncated, tmp_path, with_models):
    whole, half = truncated
    state = pipeline.JobState(
        style_source=pipeline.Source.of(whole), footage=[pipeline.Source.of(half)], config={"quality": "low"},
        artifacts=pipeline.Artifacts(style_dna=str(tmp_path / "dna.json"), edit_plan=str(tmp_path / "plan.json"),
                                     lut=str(tmp_path / "grade.cube"), output=str(tmp_path / "out.mp4")),
        models=with_models)
    pipeline.run(state)
    decoded = state.clips[0].decoded_duration_s
    assert decoded < 3.0
    for seg in state.plan.segments:
        assert seg.footage_out_s <= decoded + 1.0 / FPS + 1e-6, (seg, decoded)
    assert state.output_metadata["duration_seconds"] <= decoded + 2.0 / FPS
