"""The engine's shared vocabulary: one home for every definition both halves use.

Aspect ratios, transition types, easing curves and the text-position grid are named here
once; the analysers measure with them, the Style DNA schema validates with them and the
editing half applies them.
"""
from __future__ import annotations

import math
from typing import Callable

#: Display aspect ratios the Style DNA names (width ÷ height).
ASPECT_RATIOS: dict[str, float] = {"16:9": 16 / 9, "9:16": 9 / 16, "1:1": 1.0, "4:5": 4 / 5, "4:3": 4 / 3,
                                   "21:9": 21 / 9}

#: Shot-boundary types, in the order used to break ties (a cut first).
TRANSITION_TYPES: tuple[str, ...] = ("cut", "dissolve", "fade", "wipe")

#: Progress curves of a transition, p in 0..1 → shaped progress in 0..1.
EASING_CURVES: dict[str, Callable[[float], float]] = {
    "linear": lambda p: p,
    "ease-in": lambda p: p * p,
    "ease-out": lambda p: 1 - (1 - p) ** 2,
    "ease-in-out": lambda p: p * p * (3 - 2 * p),
}
EASINGS: tuple[str, ...] = tuple(EASING_CURVES)

#: Cells of the 3×3 grid that places on-screen text (row-major, top-left first).
POSITIONS: tuple[str, ...] = ("top-left", "top-center", "top-right", "middle-left", "center", "middle-right",
                              "bottom-left", "bottom-center", "bottom-right")


def ease(p: float, easing: str) -> float:
    """Shaped transition progress for ``p`` in 0..1 (clamped); ValueError for an unknown easing."""
    curve = EASING_CURVES.get(easing)
    if curve is None:
        raise ValueError(f"easing must be one of {EASINGS}, got {easing!r}")
    return curve(min(1.0, max(0.0, p)))


def nearest_aspect(width: float, height: float) -> str:
    """The nearest of :data:`ASPECT_RATIOS` to ``width``/``height``, compared on a log scale."""
    if width <= 0 or height <= 0:
        raise ValueError(f"width and height must be > 0, got {width}x{height}")
    r = math.log(width / height)
    return min(ASPECT_RATIOS, key=lambda k: abs(math.log(ASPECT_RATIOS[k]) - r))
