"""Crop windows for reframing: the largest window of the output aspect, following the ROI.

:func:`crop_path` turns a :class:`~clipzy.engine.analysis.framing.RoiTrack` into crop-window
keyframes for one output segment: the largest window of the output aspect that fits inside
the footage (so there are never bars), centred on the smoothed ROI path (Gaussian, σ =
:data:`SMOOTH_SIGMA_S`), its speed limited to ``max_pan_per_s`` × footage width (or height)
per second (default :data:`MAX_PAN_PER_S`, 15 %), and held still when the ROI moves less
than :data:`HOLD_SHARE` (4 %) of the frame within the segment (no jitter).
:func:`crop_at` interpolates the keyframes at one time.
"""
from __future__ import annotations

import math

import numpy as np

from ..analysis.framing import RoiTrack

MAX_PAN_PER_S = 0.15  # default crop speed limit: share of the footage width (height) per second
SMOOTH_SIGMA_S = 0.6  # Gaussian smoothing of the ROI path, seconds
HOLD_SHARE = 0.04  # a path that moves less than this share of the frame is held still


def crop_window(footage_w: int, footage_h: int, out_aspect: float) -> tuple[int, int]:
    """(width, height) in footage pixels of the largest even-sized window with ``out_aspect``
    (width/height) that fits inside the footage frame."""
    if footage_w < 2 or footage_h < 2:
        raise ValueError(f"footage size must be at least 2x2, got {footage_w}x{footage_h}")
    if not (out_aspect > 0 and math.isfinite(out_aspect)):
        raise ValueError(f"out_aspect must be a positive number, got {out_aspect}")
    if footage_w / footage_h > out_aspect:
        h = footage_h
        w = min(footage_w, int(round(h * out_aspect)))
    else:
        w = footage_w
        h = min(footage_h, int(round(w / out_aspect)))
    return max(2, w - w % 2), max(2, h - h % 2)


def _limit_speed(p: np.ndarray, max_step: float) -> np.ndarray:
    """Forward then backward clamp of successive steps to ±max_step (a few hundred points)."""
    q = p.copy()
    for i in range(1, q.size):
        q[i] = min(max(q[i], q[i - 1] - max_step), q[i - 1] + max_step)
    for i in range(q.size - 2, -1, -1):
        q[i] = min(max(q[i], q[i + 1] - max_step), q[i + 1] + max_step)
    return q


def crop_path(
    track: RoiTrack,
    footage_w: int,
    footage_h: int,
    out_aspect: float,
    t0_s: float,
    t1_s: float,
    *,
    max_pan_per_s: float = MAX_PAN_PER_S,
    step_s: float = 0.2,
    zoom: float = 1.0,
) -> list[dict[str, float]]:
    """Crop-window keyframes for footage time ``t0_s``..``t1_s``.

    ``zoom`` > 1 punches in: the window is that much smaller than the largest one (a
    framing change that makes a cut inside one take read as a cut).

    Returns ``[{"t_s", "x", "y", "width", "height"}, ...]`` (t_s in footage seconds; x, y =
    top-left corner in footage display pixels, integers; constant width/height), at least
    one keyframe; linear interpolation between keyframes never moves faster than
    ``max_pan_per_s`` × frame width (height) per second and stays inside the frame.
    """
    if t1_s < t0_s:
        raise ValueError(f"t1_s must be >= t0_s, got {t0_s}..{t1_s}")
    if max_pan_per_s <= 0:
        raise ValueError(f"max_pan_per_s must be > 0, got {max_pan_per_s}")
    if step_s <= 0:
        raise ValueError(f"step_s must be > 0, got {step_s}")
    cw, ch = crop_window(footage_w, footage_h, out_aspect)
    if zoom < 1.0:
        raise ValueError(f"zoom must be >= 1, got {zoom}")
    if zoom > 1.0:
        cw, ch = max(2, int(round(cw / zoom / 2)) * 2), max(2, int(round(ch / zoom / 2)) * 2)
    n = max(2, int(math.ceil((t1_s - t0_s) / step_s)) + 1)
    ts = np.linspace(t0_s, t1_s, n)
    xs, ys = _smoothed_roi(track, ts, step_s)
    out = []
    keys = []
    for p, size, full in ((xs, cw, footage_w), (ys, ch, footage_h)):
        lo, hi = size / 2.0, full - size / 2.0
        c = np.clip(p * full, lo, hi)
        if hi - lo < 1 or (c.max() - c.min()) < HOLD_SHARE * full:
            c = np.full_like(c, float(np.clip(np.average(p * full, weights=None), lo, hi)))
        else:
            c = np.clip(_limit_speed(c, max_pan_per_s * full * (ts[1] - ts[0]) if ts.size > 1 else 0.0), lo, hi)
        keys.append(np.floor(c - size / 2.0 + 0.5).clip(0, full - size))
    kx, ky = keys
    for i in range(ts.size):
        # drop keyframes that lie on the line between their neighbours (within a pixel)
        if 0 < i < ts.size - 1:
            f = (ts[i] - ts[i - 1]) / (ts[i + 1] - ts[i - 1])
            if abs(kx[i] - (kx[i - 1] + f * (kx[i + 1] - kx[i - 1]))) < 1 and abs(ky[i] - (ky[i - 1] + f * (ky[i + 1] - ky[i - 1]))) < 1:
                continue
        out.append({"t_s": float(ts[i]), "x": int(kx[i]), "y": int(ky[i]), "width": int(cw), "height": int(ch)})
        if ts.size == 1:
            break
    if len(out) >= 2 and all(o["x"] == out[0]["x"] and o["y"] == out[0]["y"] for o in out):
        out = [out[0]]
    return out


def _smoothed_roi(track: RoiTrack, ts: np.ndarray, step_s: float) -> tuple[np.ndarray, np.ndarray]:
    """The ROI centre (shares of the frame) at ``ts``, smoothed by an evidence-weighted
    Gaussian (σ = SMOOTH_SIGMA_S; weights ≥ 0.05 so the centre bias still counts)."""
    pad = 3 * SMOOTH_SIGMA_S
    tt = np.arange(ts[0] - pad, ts[-1] + pad + step_s / 2, step_s)
    x, y, w = track.at(tt)
    k = np.exp(-0.5 * (np.arange(-int(pad / step_s), int(pad / step_s) + 1) * step_s / SMOOTH_SIGMA_S) ** 2)
    ww = np.maximum(w, 0.05)
    den = np.convolve(ww, k, mode="same")
    xs = np.convolve(x * ww, k, mode="same") / den
    ys = np.convolve(y * ww, k, mode="same") / den
    return np.interp(ts, tt, xs), np.interp(ts, tt, ys)


def crop_at(keys: list[dict[str, float]], t_s: float) -> tuple[int, int, int, int]:
    """(x, y, width, height) of the crop window at time ``t_s`` (same clock as the keys'
    ``t_s``), linearly interpolated, rounded to whole pixels."""
    if not keys:
        raise ValueError("crop_at needs at least one keyframe")
    if len(keys) == 1:
        k = keys[0]
        return int(k["x"]), int(k["y"]), int(k["width"]), int(k["height"])
    ts = np.array([k["t_s"] for k in keys])
    x = float(np.interp(t_s, ts, [k["x"] for k in keys]))
    y = float(np.interp(t_s, ts, [k["y"] for k in keys]))
    return int(round(x)), int(round(y)), int(keys[0]["width"]), int(keys[0]["height"])
