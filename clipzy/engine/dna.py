"""Assemble the Style DNA (version "1.0") from the analysers' results, and its schema.

``StyleDnaSchema`` (marshmallow) is the one definition of the document: the engine
validates every Style DNA against it before writing, and the API documents
``style_json`` with it.

extraction_confidence
---------------------
A product of measured factors, each in [0, 1] (documented here, tested in
tests/test_dna.py):

* duration factor ``min(1, duration_s / 30)`` — 30 s is the recommended minimum for a
  template; a 6 s clip gets 0.2 on this factor before the floor below;
* shot factor ``min(1, 0.5 + 0.1 * shot_count)`` — one shot says little about pacing;
* detector factor: 1.0 with TransNetV2, 0.85 with the classical fallback; times 0.95 when
  speech detection used its energy fallback; times 0.9 when text detection was
  unavailable;
* beat factor: with music, ``0.5 + 0.5 * tempo_confidence``; without music 0.9 (pacing
  is still measured, beats simply do not exist); 0.8 when the video has no audio;
* model confidence: mean confidence of the detected transitions (1.0 when none);
* coverage: the share of the file that really decoded (``analysis.coverage``, 1.0 for a
  file that decodes to its end).

confidence = (0.2 + 0.8 × duration × shot × detector × beat × model) × coverage (so a
real measurement of a whole file never reads as 0, and a file that decoded to 10 % is
never more than 0.1 confident), rounded to 3 decimals.
"""
from __future__ import annotations

import collections
import math
import statistics
from datetime import datetime, timezone
from typing import Any, Sequence

import marshmallow as ma
import numpy as np
from marshmallow import fields, validate

from .analysis.audio import AudioAnalysis
from .analysis.shots import ShotResult, Transition
from .analysis.text import TextResult
from .media import VideoInfo
from .terms import ASPECT_RATIOS, EASINGS, POSITIONS, TRANSITION_TYPES, nearest_aspect

VERSION = "1.0"
ON_BEAT_TOLERANCE_S = 0.070


# ---------------------------------------------------------------------------
# Schema
# ---------------------------------------------------------------------------

def _grade_field() -> fields.Float:
    return fields.Float(allow_none=True, required=True, validate=validate.Range(-100, 100))


class ColorGradeSchema(ma.Schema):
    temperature = _grade_field()
    tint = _grade_field()
    saturation = _grade_field()
    contrast = _grade_field()
    highlights = _grade_field()
    shadows = _grade_field()


class AudioStyleSchema(ma.Schema):
    normalization_level = fields.Float(allow_none=True, required=True, validate=validate.Range(0, 1))
    compression_ratio = fields.Float(allow_none=True, required=True, validate=validate.Range(min=1.0))
    bass_boost = fields.Float(allow_none=True, required=True, validate=validate.Range(0, 100))
    enhance_speech = fields.Boolean(allow_none=True, required=True)


class TransitionStyleSchema(ma.Schema):
    type = fields.String(required=True, validate=validate.OneOf(TRANSITION_TYPES))
    duration_ms = fields.Integer(required=True, validate=validate.Range(min=0))
    easing = fields.String(required=True, validate=validate.OneOf(EASINGS))


class BeatSchema(ma.Schema):
    timestamp_ms = fields.Integer(required=True)
    confidence = fields.Float(required=True, validate=validate.Range(0, 1))
    frequency = fields.String(required=True, validate=validate.OneOf(["bass", "mid", "treble"]))


class TextOverlaySchema(ma.Schema):
    content = fields.String(required=True)
    position = fields.String(required=True, validate=validate.OneOf(POSITIONS))
    size = fields.Integer(allow_none=True, required=True, metadata={"description": "null when the glyphs could not be measured"})
    color = fields.String(allow_none=True, required=True, validate=validate.Regexp(r"^#[0-9a-f]{6}$"),
                          metadata={"description": "null when the glyphs could not be measured"})
    start_ms = fields.Integer(required=True)
    duration_ms = fields.Integer(required=True)


class ResolutionSchema(ma.Schema):
    width = fields.Integer(required=True)
    height = fields.Integer(required=True)


class ShotSchema(ma.Schema):
    start_ms = fields.Integer(required=True)
    end_ms = fields.Integer(required=True)


class TransitionSchema(ma.Schema):
    start_ms = fields.Integer(required=True)
    end_ms = fields.Integer(required=True)
    type = fields.String(required=True, validate=validate.OneOf(TRANSITION_TYPES))
    confidence = fields.Float(required=True, validate=validate.Range(0, 1))
    easing = fields.String(validate=validate.OneOf(EASINGS))


class PacingSchema(ma.Schema):
    shot_count = fields.Integer(required=True)
    mean_shot_ms = fields.Float(allow_none=True, required=True)
    median_shot_ms = fields.Float(allow_none=True, required=True)
    std_shot_ms = fields.Float(allow_none=True, required=True)
    min_shot_ms = fields.Integer(allow_none=True, required=True)
    max_shot_ms = fields.Integer(allow_none=True, required=True)
    cuts_on_beat_ratio = fields.Float(allow_none=True, required=True)


class BeatsSchema(ma.Schema):
    beat_times_ms = fields.List(fields.Integer(), required=True)
    downbeat_times_ms = fields.List(fields.Integer(), required=True)
    beats_per_bar = fields.Integer(allow_none=True, required=True)
    tempo_confidence = fields.Float(allow_none=True, required=True)
    # the other metrical level (half or double tempo; analysis/beats.py, rule 5): written
    # with a tempo (null/empty when that level has too few beats), absent without one
    alternative_tempo_bpm = fields.Float(allow_none=True, load_default=None)
    alternative_beat_times_ms = fields.List(fields.Integer(), load_default=list)


class LoudnessSchema(ma.Schema):
    integrated_lufs = fields.Float(allow_none=True, required=True)
    loudness_range_lu = fields.Float(allow_none=True, required=True)
    true_peak_dbtp = fields.Float(allow_none=True, required=True)
    speech_ratio = fields.Float(allow_none=True, required=True)
    music_present = fields.Boolean(allow_none=True, required=True)


class PaletteEntrySchema(ma.Schema):
    hex = fields.String(required=True, validate=validate.Regexp(r"^#[0-9a-f]{6}$"))
    weight = fields.Float(required=True)


class ColorProfileSchema(ma.Schema):
    lab_mean = fields.List(fields.Float(), allow_none=True, required=True)
    lab_std = fields.List(fields.Float(), allow_none=True, required=True)
    lab_cov = fields.List(fields.List(fields.Float()), allow_none=True, required=True)
    luma_percentiles = fields.Dict(keys=fields.String(), values=fields.Float(), allow_none=True, required=True)
    palette = fields.List(fields.Nested(PaletteEntrySchema), required=True)


class MotionSchema(ma.Schema):
    per_shot = fields.List(fields.Dict(), required=True)
    camera = fields.Dict(keys=fields.String(), values=fields.Float(allow_none=True), allow_none=True, required=True)


class StyleDnaSchema(ma.Schema):
    """The Style DNA document (STYLE_DNA.md). Extra keys are refused."""

    class Meta:
        unknown = ma.RAISE
        ordered = True

    version = fields.String(required=True, validate=validate.Equal(VERSION))
    aspect_ratio = fields.String(required=True, validate=validate.OneOf(list(ASPECT_RATIOS)))
    frame_rate = fields.Float(required=True)
    cut_frequency = fields.Float(allow_none=True, required=True,
                                 metadata={"description": "shot boundaries per minute; null when nothing decoded has a duration"})
    motion_intensity = fields.Float(allow_none=True, required=True, validate=validate.Range(0, 100))
    zoom_usage = fields.Float(allow_none=True, required=True, validate=validate.Range(0, 100))
    use_subtitles = fields.Boolean(allow_none=True, required=True)
    tempo_bpm = fields.Float(allow_none=True, required=True)
    music_genre = fields.String(allow_none=True, required=True)
    created_at = fields.String(required=True)
    source_duration_seconds = fields.Float(required=True)
    extraction_confidence = fields.Float(required=True, validate=validate.Range(0, 1))
    color_grade = fields.Nested(ColorGradeSchema, required=True)
    audio_style = fields.Nested(AudioStyleSchema, required=True)
    primary_transition = fields.Nested(TransitionStyleSchema, allow_none=True, required=True)
    secondary_transition = fields.Nested(TransitionStyleSchema, allow_none=True, required=True)
    detected_beats = fields.List(fields.Nested(BeatSchema), required=True)
    text_overlays = fields.List(fields.Nested(TextOverlaySchema), required=True)
    resolution = fields.Nested(ResolutionSchema, required=True)
    shots = fields.List(fields.Nested(ShotSchema), required=True)
    transitions = fields.List(fields.Nested(TransitionSchema), required=True)
    pacing = fields.Nested(PacingSchema, required=True)
    beats = fields.Nested(BeatsSchema, required=True)
    loudness = fields.Nested(LoudnessSchema, required=True)
    color_profile = fields.Nested(ColorProfileSchema, required=True)
    motion = fields.Nested(MotionSchema, required=True)
    analysis = fields.Dict(required=True)


def validate_dna(dna: dict) -> None:
    """Raise ValueError listing the problems if ``dna`` does not match the schema."""
    errors = StyleDnaSchema().validate(dna)
    if errors:
        raise ValueError(f"Style DNA does not match its schema: {errors}")


# ---------------------------------------------------------------------------
# Assembly helpers
# ---------------------------------------------------------------------------

def cuts_on_beat_ratio(boundary_times_s: Sequence[float], beat_times_s: Sequence[float] | np.ndarray,
                       *, tolerance_s: float = ON_BEAT_TOLERANCE_S) -> float | None:
    """Share of shot boundaries within ``tolerance_s`` seconds of a beat; None without beats or cuts."""
    beats = np.asarray(beat_times_s, dtype=float)
    cuts = np.asarray(boundary_times_s, dtype=float)
    if beats.size == 0 or cuts.size == 0:
        return None
    idx = np.clip(np.searchsorted(beats, cuts), 1, max(1, beats.size - 1))
    nearest = np.minimum(np.abs(cuts - beats[idx - 1]), np.abs(cuts - beats[np.minimum(idx, beats.size - 1)]))
    return round(float(np.mean(nearest <= tolerance_s)), 3)


def extraction_confidence(*, duration_s: float, shot_count: int, shot_detector: str,
                          transition_confidences: Sequence[float], has_audio: bool, music_present: bool | None,
                          tempo_confidence: float | None, speech_detector: str | None, text_detector: str | None,
                          coverage: float = 1.0) -> float:
    """The documented confidence formula (module docstring)."""
    duration = min(1.0, max(0.0, duration_s) / 30.0)
    shots = min(1.0, 0.5 + 0.1 * max(0, shot_count))
    detector = 1.0 if shot_detector.startswith("transnetv2") else 0.85
    if speech_detector and "fallback" in speech_detector:
        detector *= 0.95
    if text_detector in (None, "unavailable"):
        detector *= 0.9
    if not has_audio:
        beat = 0.8
    elif music_present and tempo_confidence is not None:
        beat = 0.5 + 0.5 * min(1.0, max(0.0, tempo_confidence))
    else:
        beat = 0.9
    model = float(np.mean(transition_confidences)) if len(transition_confidences) else 1.0
    return round((0.2 + 0.8 * duration * shots * detector * beat * model) * min(1.0, max(0.0, coverage)), 3)


def json_safe(x: Any) -> Any:
    """NaN/inf → None, numpy scalars → Python, recursively."""
    if isinstance(x, dict):
        return {k: json_safe(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [json_safe(v) for v in x]
    if isinstance(x, np.ndarray):
        return json_safe(x.tolist())
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


# ---------------------------------------------------------------------------
# Writers: the analysers' results (seconds) as Style DNA fields (integer milliseconds)
# ---------------------------------------------------------------------------


def _ms(x: float) -> int:
    return int(round(x * 1000))


def shot_fields(result: ShotResult, duration_s: float) -> dict[str, Any]:
    """Style DNA fields ``shots``, ``transitions``, ``pacing`` (without
    ``cuts_on_beat_ratio``), ``cut_frequency``, ``primary_transition``,
    ``secondary_transition`` (STYLE_DNA.md), times in integer milliseconds."""
    if duration_s is None or duration_s < 0:
        raise ValueError("duration_s must be >= 0")
    shots = result.shots_s(duration_s)
    lengths = [_ms(b) - _ms(a) for a, b in shots]
    pacing: dict[str, Any] = {"shot_count": len(shots)}
    if lengths:
        pacing.update(mean_shot_ms=int(round(statistics.fmean(lengths))),
                      median_shot_ms=int(round(statistics.median(lengths))),
                      std_shot_ms=int(round(statistics.pstdev(lengths))),
                      min_shot_ms=min(lengths), max_shot_ms=max(lengths))
    else:
        pacing.update(mean_shot_ms=None, median_shot_ms=None, std_shot_ms=None, min_shot_ms=None, max_shot_ms=None)
    trs = [tr for tr in result.transitions if tr.start_s <= duration_s + 1e-6]
    by_type: dict[str, list[Transition]] = {}
    for tr in trs:
        by_type.setdefault(tr.type, []).append(tr)
    order = sorted(by_type, key=lambda k: (-len(by_type[k]), -sum(t.confidence for t in by_type[k]),
                                           TRANSITION_TYPES.index(k)))
    return {
        "shots": [{"start_ms": _ms(a), "end_ms": _ms(b)} for a, b in shots],
        "transitions": [{"start_ms": _ms(t.start_s), "end_ms": _ms(t.end_s), "type": t.type,
                         "confidence": round(float(t.confidence), 3)} for t in trs],
        "pacing": pacing,
        "cut_frequency": round(len(trs) / (duration_s / 60.0), 3) if duration_s > 0 else None,
        "primary_transition": _transition_style(order[0], by_type[order[0]]) if order else None,
        "secondary_transition": _transition_style(order[1], by_type[order[1]]) if len(order) > 1 else None,
    }


def _transition_style(kind: str, items: list[Transition]) -> dict[str, Any]:
    """``{"type", "duration_ms" (median), "easing" (most frequent)}`` of one transition type."""
    if kind == "cut":
        return {"type": "cut", "duration_ms": 0, "easing": "linear"}
    dur = int(round(statistics.median(_ms(t.end_s) - _ms(t.start_s) for t in items)))
    counts = collections.Counter(t.easing for t in items)
    easing = max(EASINGS, key=lambda e: (counts.get(e, 0), -EASINGS.index(e)))
    return {"type": kind, "duration_ms": dur, "easing": easing}


def text_fields(result: TextResult) -> dict[str, Any]:
    """``{"text_overlays", "use_subtitles", "detector"}`` (overlay times in integer ms)."""
    overlays = []
    for o in result.overlays:
        start_ms = _ms(o.start_s)
        overlays.append({"content": o.content, "position": o.position, "size": o.size_px, "color": o.color,
                         "start_ms": start_ms, "duration_ms": max(0, _ms(o.end_s) - start_ms)})
    return {"text_overlays": overlays, "use_subtitles": result.use_subtitles, "detector": result.detector}


def audio_fields(a: AudioAnalysis) -> dict[str, Any]:
    """The Style DNA's ``tempo_bpm``, ``detected_beats``, ``beats``, ``loudness`` and
    ``audio_style`` (times in integer ms, JSON-safe: no NaN/inf)."""

    def r(x: float | None, nd: int = 2) -> float | None:
        return None if x is None or not np.isfinite(x) else round(float(x), nd)

    def ms(times: Any) -> list[int]:
        return [_ms(v) for v in np.asarray(times, float)]

    detected = [{"timestamp_ms": _ms(t), "confidence": round(float(c), 3), "frequency": b}
                for t, c, b in zip(a.beat_times_s, a.beat_confidence, a.beat_band)]
    beats = {"beat_times_ms": ms(a.beat_times_s), "downbeat_times_ms": ms(a.downbeat_times_s),
             "beats_per_bar": a.beats_per_bar, "tempo_confidence": r(a.tempo_confidence, 3)}
    if a.tempo_bpm is not None:  # the other metrical level exists only beside a tempo
        beats["alternative_tempo_bpm"] = r(a.alternative_tempo_bpm)
        beats["alternative_beat_times_ms"] = ms(a.alternative_beat_times_s)
    return {
        "tempo_bpm": r(a.tempo_bpm),
        "detected_beats": detected,
        "beats": beats,
        "loudness": {"integrated_lufs": r(a.integrated_lufs), "loudness_range_lu": r(a.loudness_range_lu),
                     "true_peak_dbtp": r(a.true_peak_dbtp), "speech_ratio": r(a.speech_ratio, 3),
                     "music_present": a.music_present},
        "audio_style": {"normalization_level": r(a.normalization_level, 4), "compression_ratio": r(a.compression_ratio),
                        "bass_boost": r(a.bass_boost, 1), "enhance_speech": a.enhance_speech},
    }


def assemble(*, info: VideoInfo, shots: ShotResult, color: dict, motion: dict, text: TextResult,
             audio: AudioAnalysis, timings_s: dict[str, float], coverage: float = 1.0) -> dict:
    """The validated Style DNA of one video from its analysers' results (seconds inside).

    ``info``: the probed video, its ``duration_seconds`` the part that really decoded;
    ``coverage``: that part's share of the container's claimed duration (0–1);
    ``color``/``motion``: the colour and motion analysers' ``finish()`` fields;
    ``timings_s``: seconds per stage, written to ``analysis``.
    """
    duration_s = info.duration_seconds
    shot = shot_fields(shots, duration_s)
    txt = text_fields(text)
    aud = audio_fields(audio)
    boundaries_s = [t.start_s for t in shots.transitions if t.start_s <= duration_s + 1e-6]
    pacing = dict(shot["pacing"])
    pacing["cuts_on_beat_ratio"] = cuts_on_beat_ratio(boundaries_s, list(audio.beat_times_s))
    loudness = aud["loudness"]
    dna = {
        "version": VERSION,
        "aspect_ratio": nearest_aspect(info.width, info.height),
        "frame_rate": round(float(info.frame_rate), 3),
        "cut_frequency": shot["cut_frequency"],
        "motion_intensity": motion["motion_intensity"],
        "zoom_usage": motion["zoom_usage"],
        "use_subtitles": txt["use_subtitles"],
        "tempo_bpm": aud["tempo_bpm"],
        "music_genre": None,  # no genre classifier ships with the engine
        "created_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "source_duration_seconds": round(float(duration_s), 3),
        "extraction_confidence": extraction_confidence(
            duration_s=duration_s, shot_count=pacing["shot_count"], shot_detector=shots.detector,
            transition_confidences=[t.confidence for t in shots.transitions], has_audio=info.has_audio,
            music_present=loudness.get("music_present"), tempo_confidence=aud["beats"].get("tempo_confidence"),
            speech_detector=audio.speech_detector, text_detector=txt["detector"], coverage=coverage),
        "color_grade": color["color_grade"],
        "audio_style": aud["audio_style"],
        "primary_transition": shot["primary_transition"],
        "secondary_transition": shot["secondary_transition"],
        "detected_beats": aud["detected_beats"],
        "text_overlays": txt["text_overlays"],
        "resolution": {"width": info.width, "height": info.height},
        "shots": shot["shots"],
        "transitions": shot["transitions"],
        "pacing": pacing,
        "beats": aud["beats"],
        "loudness": loudness,
        "color_profile": color["color_profile"],
        "motion": motion["motion"],
        "analysis": {
            "shot_detector": shots.detector,
            "onnx_provider": shots.provider,
            "speech_detector": audio.speech_detector,
            "text_detector": txt["detector"],
            "decoded_duration_seconds": round(float(duration_s), 3),
            "coverage": round(float(coverage), 3),
            "stage_seconds": {k: round(v, 3) for k, v in timings_s.items()},
        },
    }
    dna = json_safe(dna)
    validate_dna(dna)
    return dna
