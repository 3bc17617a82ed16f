"""The apply job's settings (API.md ``config``): their choices, defaults and x264 presets.

One home for them: the API's request schema takes its choices and defaults from here
(through :mod:`clipzy.engine`), and :func:`effective_config` fills in and checks a config
before the planner reads it.

``resolution`` and ``duration_seconds`` default to None, meaning "footage short side
capped at 1080" and "template duration capped by the usable footage"; ``music_start_seconds``
None means "the engine picks the downbeat that opens the song's most energetic stretch".
"""
from __future__ import annotations

import math
from typing import Any, Mapping

#: API quality → x264 CRF and preset. The CRFs are the API's (28/23/18). The presets are the
#: documented faster equivalents of veryfast/medium/slow: medium → ``faster`` and high →
#: ``medium`` (two to three times faster on small servers; at a fixed CRF the picture quality
#: is about the same, files are somewhat larger).
QUALITY: dict[str, dict[str, Any]] = {"low": {"crf": 28, "preset": "veryfast"},
                                      "medium": {"crf": 23, "preset": "faster"},
                                      "high": {"crf": 18, "preset": "medium"}}
#: Output frame shapes a config may ask for (``template``: the template's aspect ratio;
#: ``source``: the footage's exact display aspect).
OUTPUT_ASPECTS: tuple[str, ...] = ("16:9", "9:16", "1:1", "4:5", "source", "template")
AUDIO_SOURCES: tuple[str, ...] = ("auto", "template", "footage", "mix", "music")
#: ``keep``: the clips in the given order, each clip's moments in time order; ``any``: the
#: order that fits the template's shots best.
FOOTAGE_ORDERS: tuple[str, ...] = ("keep", "any")
RESOLUTION_RANGE = (240, 2160)  # output short side, pixels
MAX_DURATION_S = 3600.0  # longest output a config may ask for, seconds

DEFAULT_CONFIG: dict[str, Any] = {
    "quality": "high", "aspect_ratio": "template", "resolution": None, "duration_seconds": None,
    "audio_source": "auto", "color_strength": 1.0, "transitions": True, "beat_sync": True,
    "footage_order": "keep", "music_start_seconds": None,
}


def effective_config(config: Mapping[str, Any] | None) -> dict[str, Any]:
    """``config`` with the defaults filled in and every value checked (ValueError on bad values)."""
    c = dict(DEFAULT_CONFIG)
    for k, v in (config or {}).items():
        if k not in DEFAULT_CONFIG:
            raise ValueError(f"unknown config key {k!r}")
        c[k] = v
    if c["quality"] not in QUALITY:
        raise ValueError(f"quality must be low/medium/high, got {c['quality']!r}")
    if c["aspect_ratio"] not in OUTPUT_ASPECTS:
        raise ValueError(f"aspect_ratio must be {'/'.join(OUTPUT_ASPECTS)}, got {c['aspect_ratio']!r}")
    lo, hi = RESOLUTION_RANGE
    r = c["resolution"]
    if r is not None and (isinstance(r, bool) or not isinstance(r, int) or not lo <= r <= hi):
        raise ValueError(f"resolution must be an integer {lo}..{hi}, got {r!r}")
    d = c["duration_seconds"]
    if d is not None and (isinstance(d, bool) or not isinstance(d, (int, float)) or not d > 0 or not math.isfinite(d)):
        raise ValueError(f"duration_seconds must be > 0, got {d!r}")
    if c["audio_source"] not in AUDIO_SOURCES:
        raise ValueError(f"audio_source must be {'/'.join(AUDIO_SOURCES)}, got {c['audio_source']!r}")
    s = c["color_strength"]
    if isinstance(s, bool) or not isinstance(s, (int, float)) or not 0.0 <= s <= 1.0:
        raise ValueError(f"color_strength must be within 0..1, got {s!r}")
    for k in ("transitions", "beat_sync"):
        if not isinstance(c[k], bool):
            raise ValueError(f"{k} must be a boolean, got {c[k]!r}")
    if c["footage_order"] not in FOOTAGE_ORDERS:
        raise ValueError(f"footage_order must be {'/'.join(FOOTAGE_ORDERS)}, got {c['footage_order']!r}")
    m = c["music_start_seconds"]
    if m is not None and (isinstance(m, bool) or not isinstance(m, (int, float)) or not m >= 0 or not math.isfinite(m)):
        raise ValueError(f"music_start_seconds must be >= 0 or null, got {m!r}")
    return c
