"""Graded clips and synthetic camera moves with known truth (colour and motion tests).

Colour grades work on uint8 RGB frames in float (vectorised numpy) and return uint8:
``warm``/``cool`` scale R and B in opposite directions, ``desaturate`` mixes towards the
Rec.709 luma, ``tone`` applies a per-channel tone curve (crushed/lifted shadows, contrast).

Camera moves render each frame as a view of a large texture through ``cv2.warpAffine``
(bilinear, sub-pixel exact): ``camera_frames(texture, size, n, fps, path)`` where
``path(t) -> (cx, cy, scale, roll)`` gives the view centre in texture pixels, the zoom
factor (> 1 = zoomed in, the view covers less texture) and roll in radians.
"""
from __future__ import annotations

from typing import Callable

import cv2
import numpy as np

_LUMA = np.array([0.2126, 0.7152, 0.0722], np.float32)


def _f(img: np.ndarray) -> np.ndarray:
    return np.asarray(img, np.float32) / 255.0


def _u8(x: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(x * 255.0), 0, 255).astype(np.uint8)


def warm(img: np.ndarray, amount: float = 0.12) -> np.ndarray:
    """Warmer: R × (1 + amount), B × (1 − amount)."""
    x = _f(img)
    x[..., 0] *= 1.0 + amount
    x[..., 2] *= 1.0 - amount
    return _u8(x)


def cool(img: np.ndarray, amount: float = 0.12) -> np.ndarray:
    """Cooler: R × (1 − amount), B × (1 + amount)."""
    return warm(img, -amount)


def desaturate(img: np.ndarray, amount: float = 0.6) -> np.ndarray:
    """Mix ``amount`` of the way towards grey (same luma); 1 = fully grey."""
    x = _f(img)
    y = (x @ _LUMA)[..., None]
    return _u8(x + amount * (y - x))


def tone(img: np.ndarray, curve: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """Apply ``curve`` (0..1 → 0..1, vectorised) to every channel."""
    return _u8(curve(_f(img)))


def crush_shadows(img: np.ndarray, black: float = 0.12) -> np.ndarray:
    """Values below ``black`` go to 0; the rest is stretched to keep white."""
    return tone(img, lambda x: np.clip((x - black) / (1.0 - black), 0.0, 1.0))


def lift_shadows(img: np.ndarray, floor: float = 0.15) -> np.ndarray:
    """Black rises to ``floor``; white stays white."""
    return tone(img, lambda x: floor + (1.0 - floor) * x)


def more_contrast(img: np.ndarray, gain: float = 1.4) -> np.ndarray:
    """Linear contrast ``gain`` about mid grey (clipped)."""
    return tone(img, lambda x: np.clip(0.5 + gain * (x - 0.5), 0.0, 1.0))


def grey_frames(levels: list[int], size: tuple[int, int] = (160, 96)) -> list[np.ndarray]:
    """Frames of neutral grey (R = G = B): each frame a vertical ramp over ``levels``."""
    w, h = size
    out = []
    for i in range(len(levels)):
        lv = np.roll(np.asarray(levels, np.uint8), i)
        rows = np.repeat(lv, int(np.ceil(h / len(lv))))[:h]
        out.append(np.repeat(np.repeat(rows[:, None, None], w, axis=1), 3, axis=2))
    return out


# --------------------------------------------------------------------------------------
# Camera moves
# --------------------------------------------------------------------------------------


def texture(size: tuple[int, int] = (1280, 720), *, seed: int = 0) -> np.ndarray:
    """A colourful multi-scale random texture (uint8 RGB, ``size`` = (w, h)) to film."""
    w, h = size
    rng = np.random.default_rng(seed)
    acc = np.zeros((h, w, 3), np.float32)
    for cells, amp in ((6, 1.0), (20, 0.7), (60, 0.5), (200, 0.35)):
        small = rng.random((max(2, cells * h // w), cells, 3)).astype(np.float32)
        acc += amp * cv2.resize(small, (w, h), interpolation=cv2.INTER_CUBIC)
    acc -= acc.min()
    acc /= acc.max()
    return _u8(acc)


def camera_frames(
    tex: np.ndarray,
    size: tuple[int, int],
    n: int,
    fps: float,
    path: Callable[[float], tuple[float, float, float, float]],
    *,
    noise: float = 0.0,
    seed: int = 0,
) -> list[np.ndarray]:
    """``n`` frames (w, h = ``size``) viewing ``tex`` along ``path(t) -> (cx, cy, zoom, roll)``.

    ``zoom`` is the magnification (> 1 shows less of the texture, bigger); view pixel
    (u, v) shows texture point centre + R(roll)·((u, v) − view centre) / zoom.
    ``noise``: Gaussian noise σ in 8-bit levels added per frame.
    """
    w, h = size
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        cx, cy, z, roll = path(i / fps)
        c, s = np.cos(roll) / z, np.sin(roll) / z
        u0, v0 = (w - 1) / 2.0, (h - 1) / 2.0
        m = np.array([[c, -s, cx - c * u0 + s * v0], [s, c, cy - s * u0 - c * v0]], np.float64)
        img = cv2.warpAffine(tex, m, (w, h), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REFLECT)
        if noise:
            img = _u8(_f(img) + rng.normal(0.0, noise / 255.0, img.shape).astype(np.float32))
        out.append(img)
    return out


def pan_path(x0: float, y0: float, speed_px_s: float) -> Callable[[float], tuple[float, float, float, float]]:
    """View centre moving right at ``speed_px_s`` texture pixels per second."""
    return lambda t: (x0 + speed_px_s * t, y0, 1.0, 0.0)


def tilt_path(x0: float, y0: float, speed_px_s: float) -> Callable[[float], tuple[float, float, float, float]]:
    """View centre moving down at ``speed_px_s`` texture pixels per second."""
    return lambda t: (x0, y0 + speed_px_s * t, 1.0, 0.0)


def zoom_path(x0: float, y0: float, rate_per_s: float) -> Callable[[float], tuple[float, float, float, float]]:
    """Zoom in about a fixed centre: magnification exp(rate · t)."""
    return lambda t: (x0, y0, float(np.exp(rate_per_s * t)), 0.0)


def shake_path(x0: float, y0: float, amp_px: float, *, seed: int = 1, fps: float = 30.0) -> Callable[[float], tuple[float, float, float, float]]:
    """Handheld jitter: independent Gaussian offsets (σ = ``amp_px``) and slight roll per frame."""
    rng = np.random.default_rng(seed)
    table = rng.normal(0.0, 1.0, (100000, 3))

    def p(t: float) -> tuple[float, float, float, float]:
        j = table[int(round(t * fps)) % table.shape[0]]
        return (x0 + amp_px * j[0], y0 + amp_px * j[1], 1.0, 0.002 * j[2])

    return p
