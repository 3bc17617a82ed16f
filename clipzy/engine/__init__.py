"""The Clipzy engine: a plain library (no Flask) that measures Style DNA and applies it.

Its rooms, named as an editor speaks:

* ``pipeline`` — the stage list of API.md and the state its stages share (start here);
* ``analysis/`` — measuring a video: ``shots`` and ``transitions`` (cuts and their kinds),
  ``color`` (grade), ``motion`` (camera moves), ``text`` (on-screen text), ``framing``
  (the region of interest), ``audio`` with ``loudness``, ``beats`` and ``speech``;
* ``editing/`` — making the edit: ``settings`` (the apply config), ``plan`` (what goes
  where) and ``edit_plan`` (its data), ``grade`` (the LUT), ``crop`` (reframing windows),
  ``soundtrack`` (the mix) and ``render`` (the MP4);
* ``models/`` — the learned models' registry, TransNetV2's run-time contract and its
  prepare-time graph builder;
* ``dna`` (the Style DNA schema and writer), ``media`` (probe, the frame pump, audio
  decode), ``terms`` (shared vocabulary), ``colorspace``, ``control`` (progress, cancel,
  deadline), ``errors``, ``files`` (atomic writes).

The analysis half never imports the editing half. Units: float seconds inside the
engine; integer milliseconds only where the Style DNA or the edit plan is written.

This module is the engine's public face for the service's HTTP layer: the stage names,
the Style DNA schema, the apply config's vocabulary and the learned models' status.
"""
from .dna import StyleDnaSchema, validate_dna
from .editing.settings import (AUDIO_SOURCES, DEFAULT_CONFIG, FOOTAGE_ORDERS, MAX_DURATION_S, OUTPUT_ASPECTS, QUALITY,
                               RESOLUTION_RANGE)
from .pipeline import STAGE_MODES, STAGE_NAMES, model_status

__all__ = ["AUDIO_SOURCES", "DEFAULT_CONFIG", "FOOTAGE_ORDERS", "MAX_DURATION_S", "OUTPUT_ASPECTS", "QUALITY", "RESOLUTION_RANGE",
           "STAGE_MODES", "STAGE_NAMES", "StyleDnaSchema", "model_status", "validate_dna"]
