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
* model confidence: mean confidence of the detected transitions (1.0 when none).

confidence = 0.2 + 0.8 × duration × shot × detector × beat × model (so a real
measurement never reads as 0), rounded to 3 decimals.
"""
from __future__ import annotations

import math
from datetime import datetime, timezone
from typing import Any, Sequence

import marshmallow as ma
import numpy as np
from marshmallow import fields, validate

VERSION = "1.0"
ASPECTS = {"16:9": 16 / 9, "9:16": 9 / 16, "1:1": 1.0, "4:5": 4 / 5, "4:3": 4 / 3, "21:9": 21 / 9}
TRANSITION_TYPES = ("cut", "dissolve", "fade", "wipe")
EASINGS = ("linear", "ease-in", "ease-out", "ease-in-out")
POSITIONS = ("top-left", "top-center", "top-right", "middle-left", "center", "middle-right",
             "bottom-left", "bottom-center", "bottom-right")
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
    size = fields.Integer(required=True)
    color = fields.String(required=True, validate=validate.Regexp(r"^#[0-9a-f]{6}$"))
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
    aspect_ratio = fields.String(required=True, validate=validate.OneOf(list(ASPECTS)))
    frame_rate = fields.Float(required=True)
    cut_frequency = fields.Float(required=True, metadata={"description": "shot boundaries per minute"})
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

def nearest_aspect(width: int, height: int) -> str:
    """The nearest of ASPECTS to width/height, compared on a log scale."""
    if width <= 0 or height <= 0:
        raise ValueError(f"width and height must be > 0, got {width}x{height}")
    r = math.log(width / height)
    return min(ASPECTS, key=lambda k: abs(math.log(ASPECTS[k]) - r))


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
                          tempo_confidence: float | None, speech_detector: str | None, text_detector: str | None) -> float:
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
    return round(0.2 + 0.8 * duration * shots * detector * beat * model, 3)


def _finite(x: Any) -> Any:
    """NaN/inf → None, numpy scalars → Python, recursively."""
    if isinstance(x, dict):
        return {k: _finite(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_finite(v) for v in x]
    if isinstance(x, np.ndarray):
        return _finite(x.tolist())
    if isinstance(x, np.generic):
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def assemble(*, info: Any, shot: dict, color: dict, motion: dict, text: dict, audio: dict,
             beat_times_s: Sequence[float], shot_detector: str, onnx_provider: str | None,
             speech_detector: str | None, transition_confidences: Sequence[float],
             timings_s: dict[str, float]) -> dict:
    """Build the Style DNA from each analyser's fields (shapes in docs/ENGINE_CONTRACT.md).

    ``info`` is the VideoInfo of the analysed video; ``audio`` is AudioAnalysis.fields()
    (or the all-null fields when the video has no audio).
    """
    boundaries_s = [t["start_ms"] / 1000.0 for t in shot["transitions"]]
    pacing = dict(shot["pacing"])
    pacing["cuts_on_beat_ratio"] = cuts_on_beat_ratio(boundaries_s, beat_times_s)
    loudness = audio["loudness"]
    dna = {
        "version": VERSION,
        "aspect_ratio": nearest_aspect(info.width, info.height),
        "frame_rate": round(float(info.frame_rate), 3),
        "cut_frequency": shot["cut_frequency"],
        "motion_intensity": motion["motion_intensity"],
        "zoom_usage": motion["zoom_usage"],
        "use_subtitles": text["use_subtitles"],
        "tempo_bpm": audio["tempo_bpm"],
        "music_genre": None,  # no genre classifier ships with the engine
        "created_at": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "source_duration_seconds": round(float(info.duration_seconds), 3),
        "extraction_confidence": extraction_confidence(
            duration_s=info.duration_seconds, shot_count=pacing["shot_count"], shot_detector=shot_detector,
            transition_confidences=transition_confidences, has_audio=info.has_audio,
            music_present=loudness.get("music_present"), tempo_confidence=audio["beats"].get("tempo_confidence"),
            speech_detector=speech_detector, text_detector=text.get("detector")),
        "color_grade": color["color_grade"],
        "audio_style": audio["audio_style"],
        "primary_transition": shot["primary_transition"],
        "secondary_transition": shot["secondary_transition"],
        "detected_beats": audio["detected_beats"],
        "text_overlays": text["text_overlays"],
        "resolution": {"width": info.width, "height": info.height},
        "shots": shot["shots"],
        "transitions": shot["transitions"],
        "pacing": pacing,
        "beats": audio["beats"],
        "loudness": loudness,
        "color_profile": color["color_profile"],
        "motion": motion["motion"],
        "analysis": {
            "shot_detector": shot_detector,
            "onnx_provider": onnx_provider,
            "speech_detector": speech_detector,
            "text_detector": text.get("detector"),
            "stage_seconds": {k: round(v, 3) for k, v in timings_s.items()},
        },
    }
    dna = _finite(dna)
    validate_dna(dna)
    return dna


def empty_audio_fields() -> dict:
    """The audio part of the Style DNA for a video without an audio stream: nothing measured."""
    return {
        "tempo_bpm": None,
        "detected_beats": [],
        "beats": {"beat_times_ms": [], "downbeat_times_ms": [], "beats_per_bar": None, "tempo_confidence": None},
        "loudness": {"integrated_lufs": None, "loudness_range_lu": None, "true_peak_dbtp": None,
                     "speech_ratio": None, "music_present": None},
        "audio_style": {"normalization_level": None, "compression_ratio": None, "bass_boost": None,
                        "enhance_speech": None},
    }
