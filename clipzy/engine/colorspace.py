"""sRGB ↔ CIELAB (D65), the one conversion the colour analysis and the grade share.

OpenCV's float path (sRGB transfer curve applied, values not quantised); L* 0..100,
a*/b* signed.
"""
from __future__ import annotations

import cv2
import numpy as np


def rgb_to_lab(img_uint8: np.ndarray) -> np.ndarray:
    """sRGB uint8 ``(..., 3)`` (an image ``(h, w, 3)`` or a pixel list ``(n, 3)``) → CIELAB
    float32 of the same shape; ValueError for another dtype or shape."""
    a = np.asarray(img_uint8)
    if a.dtype != np.uint8:
        raise ValueError(f"rgb_to_lab expects uint8 RGB, got {a.dtype}")
    f = _check_shape(a).astype(np.float32)
    f *= np.float32(1.0 / 255.0)
    return _to_lab(f)


def unit_rgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """sRGB floats in 0..1 (clipped) ``(..., 3)`` → CIELAB float32 of the same shape."""
    return _to_lab(np.clip(_check_shape(np.asarray(rgb, dtype=np.float32)), 0, 1))


def _check_shape(a: np.ndarray) -> np.ndarray:
    if a.ndim < 2 or a.shape[-1] != 3:
        raise ValueError(f"expected shape (..., 3), got {a.shape}")
    return a


def _as_image(a: np.ndarray) -> np.ndarray:
    """``a`` as OpenCV takes it: an image ``(h, w, 3)`` as it is, anything else as a column of
    pixels (OpenCV's vectorised paths differ in the last float bits between the two)."""
    return np.ascontiguousarray(a if a.ndim == 3 else a.reshape(-1, 1, 3))


def _to_lab(f: np.ndarray) -> np.ndarray:
    """float32 sRGB 0..1 ``(..., 3)`` → CIELAB, per pixel through OpenCV."""
    return cv2.cvtColor(_as_image(f), cv2.COLOR_RGB2Lab).reshape(f.shape)


def lab_to_rgb(lab: np.ndarray, *, as_uint8: bool = False) -> np.ndarray:
    """CIELAB ``(..., 3)`` → sRGB float32 0..1 (out-of-gamut colours clipped per channel), or uint8."""
    a = np.asarray(lab, dtype=np.float32)
    if a.ndim < 2 or a.shape[-1] != 3:
        raise ValueError(f"lab_to_rgb expects shape (..., 3), got {a.shape}")
    rgb = cv2.cvtColor(_as_image(a), cv2.COLOR_Lab2RGB)
    np.clip(rgb, 0.0, 1.0, out=rgb)
    rgb = rgb.reshape(a.shape)
    if as_uint8:
        return np.rint(rgb * 255.0).astype(np.uint8)
    return rgb
