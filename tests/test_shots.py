"""Shot and transition detection: both detectors on clips with known transitions, real
single-shot clips, the end card's fade, span typing and the Style DNA fields."""
from __future__ import annotations

import numpy as np
import pytest

from clipzy.engine import media
from clipzy.engine.analysis import shots
from clipzy.engine.analysis.shots import ShotResult, Transition
from clipzy.engine.analysis.transitions import classify_span
from clipzy.engine.dna import shot_fields
from tests.synth import shots as S


# ---------------------------------------------------------------------------
# fixtures
# ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def eval_clips(shared_media, tmp_path_factory):
    folder = tmp_path_factory.mktemp("shots-eval")
    return [S.make_eval_clip(plan, folder, shared_media) for plan in S.PLANS]


def _run(path: str, **kw) -> ShotResult:
    info = media.probe(path)
    det = shots.make_detector(info, **kw)
    media.FramePump(path, [det], info=info).run()
    return det.finish()


def _quality(clips, **kw) -> dict:
    return S.pooled([S.score(c.transitions, _run(c.path, **kw).transitions, c.fps) for c in clips])


# ---------------------------------------------------------------------------
# detectors on the evaluation clips
# ---------------------------------------------------------------------------


@pytest.mark.slow
def test_transnet_quality(with_models, eval_clips):
    det = shots.make_detector(media.probe(eval_clips[0].path), models=with_models)
    assert isinstance(det, shots.TransNetDetector)
    q = _quality(eval_clips, models=with_models)
    assert q["cut_f1"] >= 0.9, q
    assert q["gradual_f1"] >= 0.8, q
    assert q["type_acc"] >= 0.75, q
    assert q["gradual_type_acc"] >= 0.75, q


@pytest.mark.slow
def test_cascade_finds_what_the_full_network_finds_on_fewer_windows(with_models, eval_clips, shared_media):
    """The default cascade (CascadeGate) against the network on every window: the same
    transitions on the evaluation clips and on a real single take, on fewer windows."""
    run_total = win_total = 0
    for path in [c.path for c in eval_clips] + [str(shared_media / "cockatoo.mp4")]:
        full = _run(path, models=with_models, mode="full")
        casc = _run(path, models=with_models, mode="cascade")
        assert casc.stats["mode"] == "cascade" and full.stats["windows_run"] == full.stats["windows"]
        assert [(t.type, round(t.start_s, 3), round(t.end_s, 3)) for t in casc.transitions] == \
            [(t.type, round(t.start_s, 3), round(t.end_s, 3)) for t in full.transitions], path
        run_total += casc.stats["windows_run"]
        win_total += casc.stats["windows"]
    assert run_total < win_total, (run_total, win_total)


def test_shot_mode_from_the_environment(monkeypatch):
    monkeypatch.setenv("CLIPZY_SHOT_MODE", "full")
    assert shots.shot_mode() == "full"
    monkeypatch.setenv("CLIPZY_SHOT_MODE", "sometimes")
    with pytest.raises(ValueError, match="CLIPZY_SHOT_MODE"):
        shots.shot_mode()
    monkeypatch.delenv("CLIPZY_SHOT_MODE")
    assert shots.shot_mode() == "cascade"


def test_fallback_quality(without_models, eval_clips):
    det = shots.make_detector(media.probe(eval_clips[0].path), models=without_models)
    assert isinstance(det, shots.ClassicalDetector)
    r = _run(eval_clips[0].path, models=without_models)
    assert r.detector == "classical-content-fade-dissolve" and r.provider is None
    q = _quality(eval_clips, models=without_models)
    assert q["cut_f1"] >= 0.9, q
    assert q["gradual_f1"] >= 0.7, q
    assert q["type_acc"] >= 0.75, q


def test_use_model_false_gives_fallback(with_models, eval_clips):
    info = media.probe(eval_clips[0].path)
    assert isinstance(shots.make_detector(info, models=with_models, use_model=False), shots.ClassicalDetector)


# ---------------------------------------------------------------------------
# real clips
# ---------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("name", ["bigbuckbunny.mp4", "cockatoo.mp4"])
def test_single_shot_clips_have_no_cuts(name, media_file, with_models):
    r = _run(media_file(name), models=with_models)
    assert r.detector == "transnetv2-onnx"
    assert r.transitions == []
    fb = _run(media_file(name), use_model=False)
    assert [t for t in fb.transitions if t.type == "cut"] == []


@pytest.mark.parametrize("with_model", [True, False])
def test_endcard_fade_to_black(with_model, media_file, request):
    models = request.getfixturevalue("with_models") if with_model else None
    path = media_file("endcard_fade.mp4")
    r = _run(path, models=models, use_model=with_model)
    assert len(r.transitions) == 1, r.transitions
    tr = r.transitions[0]
    assert tr.type == "fade"
    assert abs(tr.start_s - 6.40) <= 0.07 and abs(tr.end_s - 6.93) <= 0.07
    f = shot_fields(r, media.probe(path).duration_seconds)
    assert f["primary_transition"]["type"] == "fade"
    assert abs(f["primary_transition"]["duration_ms"] - 530) <= 100


# ---------------------------------------------------------------------------
# typing spans (synthetic frames with exact truth)
# ---------------------------------------------------------------------------


def _texture(seed: int, h: int = 36, w: int = 64) -> np.ndarray:
    rng = np.random.default_rng(seed)
    small = rng.uniform(0, 255, size=(5, 8, 3)).astype(np.float32)
    import cv2

    return cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC).clip(0, 255)


def _seq(kind: str, n: int = 15, ease=lambda x: x) -> np.ndarray:
    a, b = _texture(1), _texture(2)
    frames = [a] * 3
    for k in range(n):
        p = ease((k + 1) / (n + 1))
        if kind == "dissolve":
            frames.append((1 - p) * a + p * b)
        elif kind == "wipe":
            f = a.copy()
            f[:, : int(round(p * a.shape[1]))] = b[:, : int(round(p * a.shape[1]))]
            frames.append(f)
        elif kind == "fade":
            frames.append(a * max(0.0, 1 - 2 * p) if p < 0.5 else b * (2 * p - 1))
    frames += [b] * 3
    return np.stack(frames).round().astype(np.uint8)


@pytest.mark.parametrize("kind", ["dissolve", "wipe", "fade"])
def test_classify_gradual(kind):
    st = classify_span(_seq(kind))
    assert st is not None and st.type == kind
    assert abs(st.start - 3) <= 1 and abs(st.end - 18) <= 1, st


@pytest.mark.parametrize("name,curve", [("ease-in", lambda x: x * x), ("ease-out", lambda x: 1 - (1 - x) ** 2),
                                        ("ease-in-out", lambda x: x * x * (3 - 2 * x)), ("linear", lambda x: x)])
def test_easing_of_dissolve(name, curve):
    st = classify_span(_seq("dissolve", n=20, ease=curve))
    assert st.type == "dissolve" and st.easing == name


def test_classify_cut_and_nothing():
    a, b = _texture(3), _texture(4)
    frames = np.stack([a, a, a, b, b]).astype(np.uint8)
    st = classify_span(frames)
    assert st.type == "cut" and st.start == st.end == 3 and st.easing == "linear"
    assert classify_span(np.stack([a, a, a]).astype(np.uint8)) is None
    with pytest.raises(ValueError):
        classify_span(frames[:1])


def test_classical_buffer_is_bounded():
    info = None
    det = shots.ClassicalDetector(info, width=32)
    assert det._buf.maxlen < 400
    rng = np.random.default_rng(0)
    img = rng.integers(0, 255, size=(18, 32, 3), dtype=np.uint8)
    for i in range(det._buf.maxlen + 50):
        det.push(img, i / 25)
    assert len(det._buf) == det._buf.maxlen
    assert det.finish().transitions == []


# ---------------------------------------------------------------------------
# Style DNA fields
# ---------------------------------------------------------------------------


def test_shot_fields_exact():
    r = ShotResult([Transition(2.0, 2.0, "cut", 0.9), Transition(4.0, 4.5, "dissolve", 0.8, "ease-in"),
                    Transition(6.0, 6.0, "cut", 0.95), Transition(7.0, 7.7, "dissolve", 0.7, "ease-in"),
                    Transition(8.5, 8.5, "cut", 0.6)], "test")
    f = shot_fields(r, 10.0)
    assert f["shots"] == [{"start_ms": 0, "end_ms": 2000}, {"start_ms": 2000, "end_ms": 4000},
                          {"start_ms": 4000, "end_ms": 6000}, {"start_ms": 6000, "end_ms": 7000},
                          {"start_ms": 7000, "end_ms": 8500}, {"start_ms": 8500, "end_ms": 10000}]
    assert f["transitions"][1] == {"start_ms": 4000, "end_ms": 4500, "type": "dissolve", "confidence": 0.8}
    assert f["pacing"] == {"shot_count": 6, "mean_shot_ms": 1667, "median_shot_ms": 1750,
                           "std_shot_ms": 373, "min_shot_ms": 1000, "max_shot_ms": 2000}
    assert f["cut_frequency"] == 30.0
    assert f["primary_transition"] == {"type": "cut", "duration_ms": 0, "easing": "linear"}
    assert f["secondary_transition"] == {"type": "dissolve", "duration_ms": 600, "easing": "ease-in"}


def test_shot_fields_without_transitions():
    f = shot_fields(ShotResult([], "test"), 5.28)
    assert f["shots"] == [{"start_ms": 0, "end_ms": 5280}]
    assert f["transitions"] == [] and f["cut_frequency"] == 0.0
    assert f["primary_transition"] is None and f["secondary_transition"] is None
    assert f["pacing"]["shot_count"] == 1 and f["pacing"]["std_shot_ms"] == 0
    with pytest.raises(ValueError):
        shot_fields(ShotResult([], "test"), -1)
