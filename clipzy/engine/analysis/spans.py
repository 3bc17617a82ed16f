"""Shot spans passed between analysers: ``shots_s`` = ordered (start_s, end_s) pairs in seconds."""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np


def shot_starts(shots_s: Sequence[tuple[float, float]]) -> np.ndarray:
    """The start times (seconds) of ``shots_s``; ValueError unless the spans are finite, ordered and end ≥ start."""
    starts = []
    prev_end = -math.inf
    for s, e in shots_s:
        if not (math.isfinite(s) and math.isfinite(e)) or e < s or s < prev_end - 1e-6:
            raise ValueError("shots_s must be ordered (start_s, end_s) spans with end >= start")
        starts.append(float(s))
        prev_end = float(e)
    return np.asarray(starts)
