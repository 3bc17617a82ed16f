"""On-screen text (clipzy.engine.analysis.text): OCR engine loading, glyph measurements, the
use_subtitles rule, and end-to-end runs on real footage with text drawn at known places
and times (tests/synth/text.py).

Readings are compared after whitespace normalisation and case-insensitively: at video
sizes several Hershey glyphs (c, o, s, v, w, x, z) look the same in upper and lower case,
so the case of such letters is not something OCR can be held to.
"""
from __future__ import annotations

import socket

import cv2
import numpy as np
import pytest

from dataclasses import replace

from clipzy.engine import dna, media
from clipzy.engine.analysis import text
from clipzy.engine.models import ModelRegistry
from conftest import need
from synth.text import FONT, build_clip, ink_height

# ---------------------------------------------------------------------------
# Pure pieces
# ---------------------------------------------------------------------------


def test_grid_cell_names_and_bounds():
    w, h = 300, 90
    assert text.grid_cell(10, 10, w, h) == "top-left"
    assert text.grid_cell(150, 10, w, h) == "top-center"
    assert text.grid_cell(290, 10, w, h) == "top-right"
    assert text.grid_cell(10, 45, w, h) == "middle-left"
    assert text.grid_cell(150, 45, w, h) == "center"
    assert text.grid_cell(290, 45, w, h) == "middle-right"
    assert text.grid_cell(10, 80, w, h) == "bottom-left"
    assert text.grid_cell(150, 80, w, h) == "bottom-center"
    assert text.grid_cell(300, 90, w, h) == "bottom-right"  # edge clamps inside
    with pytest.raises(ValueError):
        text.grid_cell(1, 1, 0, 10)


def _ov(content: str, position: str, start_s: float, end_s: float) -> text.TextOverlay:
    return text.TextOverlay(content, position, None, None, start_s, end_s)


def test_reading_joins_readings_that_differ_only_in_spaces():
    # a space seen in a fair share of the frames is kept: PP-OCR drops narrow ones
    assert text.reading({"LIVE 2024": 2.86, "LIVE2024": 2.94}) == "LIVE 2024"
    assert text.reading({"LIVE2024": 2.9, "LIVE 2024": 0.5}) == "LIVE2024"
    # two spaces, each judged on its own share of the score
    assert text.reading({"A B C": 0.5, "AB C": 1.0, "ABC": 1.5}) == "AB C"
    # spaces never outvote letters: the group with the most score wins
    assert text.reading({"HELLO": 1.0, "WORLD": 0.9, "W ORLD": 0.3}) == "WORLD"
    assert text.reading({"HELLO": 1.3, "WORLD": 0.9, "W ORLD": 0.3}) == "HELLO"
    assert text.reading({"ab": 1.0}) == "ab"
    with pytest.raises(ValueError):
        text.reading({})


def test_subtitles_rule():
    shots = [(0, 2), (2, 4), (4, 6), (6, 8)]
    captions = [_ov(f"line {i}", "bottom-center", 2 * i, 2 * i + 2) for i in range(4)]
    assert text.subtitles_rule(captions, shots) is True
    # the same text everywhere (a watermark) is not subtitles
    assert text.subtitles_rule([_ov("logo", "bottom-right", 0, 8)], shots) is False
    # text at the top is not subtitles
    top = [replace(o, position="top-center") for o in captions]
    assert text.subtitles_rule(top, shots) is False
    # two captions in one shot of many: not "across several shots"
    few = [_ov("a b", "bottom-center", 0, 1), _ov("c d", "bottom-center", 1, 2)]
    assert text.subtitles_rule(few, shots) is False
    # a single-shot video with changing captions is subtitled
    assert text.subtitles_rule(few, [(0.0, 2.0)]) is True
    assert text.subtitles_rule([], shots) is False
    with pytest.raises(ValueError):
        text.subtitles_rule(captions, [])


def test_glyph_stats_colour_and_height_on_flat_and_textured_background():
    rng = np.random.default_rng(3)
    for bg, fg in (((40, 40, 40), (250, 250, 250)), ((230, 230, 230), (200, 20, 30))):
        img = np.empty((50, 260, 3), np.uint8)
        img[:] = bg
        img = np.clip(img.astype(int) + rng.integers(-12, 13, img.shape), 0, 255).astype(np.uint8)
        cv2.putText(img, "Sample 42", (10, 36), FONT, 1.0, fg, 2, cv2.LINE_AA)
        colour, height = text.glyph_stats(img)
        assert colour is not None and height is not None
        assert np.abs(np.array(colour) - np.array(fg)).max() <= 30, (colour, fg)
        truth = ink_height("Sample 42", scale=1.0, thickness=2)
        assert abs(height - truth) <= 3, (height, truth)
    flat = np.full((30, 100, 3), 128, np.uint8)
    assert text.glyph_stats(flat) == (None, None)


def test_text_analyzer_rejects_bad_every_s(shared_media):
    info = media.probe(str(shared_media / "cockatoo.mp4"))
    for bad in (0, -1, float("nan")):
        with pytest.raises(ValueError):
            text.TextAnalyzer(info, every_s=bad)
    an = text.TextAnalyzer(info)
    assert an.frame_size == media.fit_width(info, 960)
    assert an.every_s == 0.5


# ---------------------------------------------------------------------------
# The engine
# ---------------------------------------------------------------------------


def test_engine_loads_bundled_models_without_network(monkeypatch):
    need(text.model_dir() is not None, "rapidocr is not installed")

    def no_network(*a, **k):
        raise AssertionError("network access attempted")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    from rapidocr.utils import download_file

    monkeypatch.setattr(download_file.DownloadFile, "run", no_network)
    eng = text._build_engine()
    assert eng is not None
    bundled = str(text.model_dir())
    assert str(eng.cfg.Det.model_path).startswith(bundled)
    assert str(eng.cfg.Rec.model_path).startswith(bundled)
    # inference runs on the sessions made by clipzy (its providers), not rapidocr's own
    for holder in (eng.text_det, eng.text_rec):
        assert holder.session.session.get_providers()[0] == ModelRegistry.from_environ().providers()[0]
    img = np.full((80, 360, 3), 255, np.uint8)
    cv2.putText(img, "Offline 123", (10, 55), FONT, 1.3, (0, 0, 0), 2, cv2.LINE_AA)
    out = eng(img, use_det=True, use_cls=False, use_rec=True)
    assert [t.replace(" ", "").casefold() for t in out.txts] == ["offline123"]


def test_ocr_threads_env(monkeypatch):
    monkeypatch.setenv("CLIPZY_OCR_THREADS", "3")
    assert text.ocr_threads() == 3
    for bad in ("0", "two"):
        monkeypatch.setenv("CLIPZY_OCR_THREADS", bad)
        with pytest.raises(ValueError):
            text.ocr_threads()
    monkeypatch.delenv("CLIPZY_OCR_THREADS")
    assert 1 <= text.ocr_threads() <= 4


def test_engine_missing_models_is_unavailable(tmp_path, monkeypatch, shared_media):
    assert text._build_engine(tmp_path) is None
    monkeypatch.setattr(text, "engine", lambda providers=None: None)
    assert text.is_available() is False
    info = media.probe(str(shared_media / "realshort.mp4"))
    an = text.TextAnalyzer(info)
    media.FramePump(str(shared_media / "realshort.mp4"), [an], info=info).run()
    assert dna.text_fields(an.finish([(0.0, info.duration_seconds)])) == {
        "text_overlays": [], "use_subtitles": None, "detector": "unavailable"}


def test_ocr_image_reads_drawn_text():
    need(text.is_available(), "rapidocr engine unavailable")
    img = np.full((120, 640, 3), 30, np.uint8)
    cv2.putText(img, "Clipzy reads this", (20, 75), FONT, 1.4, (255, 255, 0), 2, cv2.LINE_AA)
    lines = text.ocr_image(img)
    assert lines is not None and len(lines) == 1
    assert lines[0].text.casefold() == "clipzy reads this"
    assert lines[0].score >= text.MIN_SCORE
    with pytest.raises(ValueError):
        text.ocr_image(img[:, :, 0])


# ---------------------------------------------------------------------------
# End to end on real footage with drawn text
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def analysed(shared_media, tmp_path_factory):
    """kind -> (Clip, finish() result, analyser), built and analysed once per module."""
    need(text.is_available(), "rapidocr engine unavailable")
    src = shared_media / "cockatoo.mp4"
    need(src.is_file(), f"{src} is absent")
    out_dir = str(tmp_path_factory.mktemp("text"))
    cache: dict = {}

    def get(kind: str):
        if kind not in cache:
            clip = build_clip(kind, str(src), out_dir)
            info = media.probe(clip.path)
            an = text.TextAnalyzer(info)
            media.FramePump(clip.path, [an], info=info).run()
            cache[kind] = (clip, dna.text_fields(an.finish(clip.shots_s)), an)
        return cache[kind]

    return get


def _key(s: str) -> str:
    return text.normalise_whitespace(s).casefold()


def _check_overlays(clip, result):
    overlays = result["text_overlays"]
    found = {_key(o["content"]): o for o in overlays}
    hits = [d for d in clip.texts if _key(d.text) in found]
    recall = len(hits) / len(clip.texts)
    assert recall >= 0.9, (recall, [o["content"] for o in overlays])
    truth_keys = {_key(d.text) for d in clip.texts}
    assert all(_key(o["content"]) in truth_keys for o in overlays), overlays  # no spurious text
    for d in hits:
        o = found[_key(d.text)]
        start = o["start_ms"] / 1000
        end = (o["start_ms"] + o["duration_ms"]) / 1000
        assert o["position"] == d.cell, (d, o)
        assert abs(start - d.start_s) <= 0.5, (d, o)
        assert abs(end - d.end_s) <= 0.5, (d, o)
        assert 0.75 * d.ink_height_px <= o["size"] <= 1.3 * d.ink_height_px, (d, o)
        rgb = np.array([int(o["color"][i:i + 2], 16) for i in (1, 3, 5)])
        assert np.abs(rgb - np.array(d.rgb)).max() <= 40, (d, o)


def test_captions_across_shots(analysed):
    clip, result, _ = analysed("captions")
    assert result["detector"] == "rapidocr-ppocr-onnx"
    _check_overlays(clip, result)
    assert result["use_subtitles"] is True


def test_title_and_tag_are_not_subtitles(analysed):
    clip, result, _ = analysed("title")
    _check_overlays(clip, result)
    assert result["use_subtitles"] is False


def test_plain_footage_has_no_overlays(analysed):
    clip, result, an = analysed("plain")
    assert an.frames_ocr >= 1  # the detector really ran
    assert result == {"text_overlays": [], "use_subtitles": False, "detector": "rapidocr-ppocr-onnx"}


def test_still_picture_is_ocrd_only_when_it_changes(tmp_path, shared_media):
    """A still picture is OCR'd once, then again only when a small caption appears on it."""
    need(text.is_available(), "rapidocr engine unavailable")
    from synth.text import draw_text
    from synth.video import shared_media_frames, write_video

    still = shared_media_frames(str(shared_media / "cockatoo.mp4"), start_s=1.0, count=1, size=(640, 360))[0]
    draw_text(still, "STILL FRAME", "top-left", scale=1.2, thickness=2, rgb=(255, 255, 255), outline=1)
    with_caption = still.copy()
    draw_text(with_caption, "a small caption", "bottom-center", scale=0.6, thickness=1, rgb=(255, 255, 255), outline=1)
    path = write_video(tmp_path / "still.mp4", [still] * 20 + [with_caption] * 20, fps=10)
    info = media.probe(path)
    an = text.TextAnalyzer(info)
    media.FramePump(path, [an], info=info).run()
    res = dna.text_fields(an.finish([(0.0, info.duration_seconds)]))
    assert an.frames_seen == 8 and an.frames_ocr == 2
    got = {_key(o["content"]): o for o in res["text_overlays"]}
    assert set(got) == {"still frame", "a small caption"}, res
    assert got["still frame"]["position"] == "top-left"
    assert got["still frame"]["start_ms"] == 0 and abs(got["still frame"]["duration_ms"] - 4000) <= 100
    assert got["a small caption"]["position"] == "bottom-center"
    assert abs(got["a small caption"]["start_ms"] - 2000) <= 500
