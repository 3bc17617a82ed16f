"""The pipeline: the one stage list (names and bands of API.md), its walk, and what it times."""
from __future__ import annotations

import time

import numpy as np
import pytest

from clipzy.engine import dna, pipeline
from clipzy.engine.control import Control
from synth.video import write_video


def test_stage_list_is_api_md():
    assert [(s.name, s.band) for s in pipeline.STAGES] == [
        ("video_analysis", (1, 20)), ("audio_analysis", (21, 35)), ("motion_analysis", (36, 55)),
        ("style_extraction", (56, 65)), ("style_application", (66, 85)), ("rendering", (86, 99))]
    assert pipeline.STAGE_MODES["extract"] == pipeline.STAGE_NAMES[:4]
    assert pipeline.STAGE_MODES["apply"] == pipeline.STAGE_NAMES


@pytest.fixture
def clip(tmp_path):
    rng = np.random.default_rng(0)
    frames = [np.clip(rng.normal(120, 30, (36, 64, 3)), 0, 255).astype(np.uint8) for _ in range(25)]
    return write_video(tmp_path / "c.mp4", frames, fps=25)


def test_walk_reports_progress_through_the_bands_and_times_each_stage(clip, tmp_path, without_models):
    seen: list[float] = []
    state = pipeline.JobState(style_source=pipeline.Source.of(clip), footage=[], config={},
                              artifacts=pipeline.Artifacts(style_dna=str(tmp_path / "dna.json")), models=without_models)
    pipeline.run(state, Control(seen.append))
    assert [s.name for s in pipeline.stages_for(state)] == list(pipeline.STAGE_MODES["extract"])
    assert seen == sorted(seen) and seen[-1] == 1.0
    assert set(state.stage_seconds) == set(pipeline.STAGE_MODES["extract"])
    assert (tmp_path / "dna.json").is_file()


def test_style_extraction_time_is_the_time_of_the_assembly(clip, tmp_path, without_models, monkeypatch):
    """``analysis.stage_seconds.style_extraction`` names the DNA's own stage: it must time the
    assembly and validation, not a moment before them."""
    real = dna.assemble

    def slow_assemble(**kw):
        time.sleep(0.3)
        return real(**kw)

    monkeypatch.setattr(dna, "assemble", slow_assemble)
    style = pipeline.extract_style(clip, models=without_models)
    assert style["analysis"]["stage_seconds"]["style_extraction"] >= 0.3
