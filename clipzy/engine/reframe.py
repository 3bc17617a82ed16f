"""Region of interest of the footage and smoothed crop paths for reframing.

:class:`RoiTracker` is a :class:`~clipzy.engine.media.FramePump` consumer (frames 320 px
wide, one every 0.2 s). For every sampled frame it estimates where the viewer looks, as a
weighted mean of up to four cues, each a point in normalised frame coordinates (0..1):

* **faces** (weight 4 × detection area share, at least 2 per face): OpenCV's frontal-face
  Haar cascade when this OpenCV build ships it (``cv2.CascadeClassifier`` and
  ``cv2.data.haarcascades``). OpenCV 5 dropped both, so on such builds faces are not used
  and :attr:`RoiTrack.face_detector` is None.
* **salient motion** (weight 0..2 by how much of the frame moves): the centroid of the
  frame-difference energy against the previous sample (grey, blurred, after removing the
  global brightness change), with energy below the noise floor ignored.
* **visual saliency** (weight 0.5): centroid of the spectral-residual saliency map
  (Hou & Zhang 2007) on a 64-pixel-wide thumbnail.
* **centre bias** (weight 0.5): the frame centre.

``finish()`` returns a :class:`RoiTrack` (times, x, y, weight = the non-centre share of the
evidence, 0..1). :func:`crop_path` turns a track into crop-window keyframes for one output
segment: the largest window of the output aspect that fits inside the footage (so there
are never bars), centred on the smoothed ROI path (Gaussian, σ = 0.6 s), its speed limited
to ``max_pan_per_s`` × footage width (or height) per second (default 15 %), and held still
when the ROI moves less than 4 % of the frame within the segment (no jitter).
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from .media import VideoInfo, fit_width

MAX_PAN_PER_S = 0.15  # default crop speed limit: share of the footage width (height) per second
SMOOTH_SIGMA_S = 0.6  # Gaussian smoothing of the ROI path, seconds
HOLD_SHARE = 0.04  # a path that moves less than this share of the frame is held still


def _face_cascade() -> Any | None:
    make = getattr(cv2, "CascadeClassifier", None)
    data = getattr(getattr(cv2, "data", None), "haarcascades", None)
    if make is None or not data:
        return None
    path = os.path.join(data, "haarcascade_frontalface_default.xml")
    if not os.path.isfile(path):
        return None
    c = make(path)
    return None if c.empty() else c


@dataclass
class RoiTrack:
    """ROI samples of a video: times in seconds, centre (x, y) as a share of the display
    width/height (0..1), weight 0..1 (how much of the evidence came from faces/motion/saliency
    rather than the centre bias)."""

    times_s: np.ndarray
    x: np.ndarray
    y: np.ndarray
    weight: np.ndarray
    face_detector: str | None = None
    faces: np.ndarray = field(default_factory=lambda: np.zeros(0))  # faces found per sample

    @classmethod
    def centre(cls, duration_s: float) -> "RoiTrack":
        """A track that always points at the frame centre (no evidence)."""
        t = np.array([0.0, max(0.0, float(duration_s))])
        return cls(t, np.full(2, 0.5), np.full(2, 0.5), np.zeros(2), None, np.zeros(2))

    def at(self, t_s: np.ndarray | float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(x, y, weight) linearly interpolated at ``t_s`` (held at the ends)."""
        if self.times_s.size == 0:
            t = np.asarray(t_s, float)
            return np.full(t.shape, 0.5), np.full(t.shape, 0.5), np.zeros(t.shape)
        return (np.interp(t_s, self.times_s, self.x), np.interp(t_s, self.times_s, self.y), np.interp(t_s, self.times_s, self.weight))

    def face_share(self, t0_s: float, t1_s: float) -> float:
        """Share of samples within [t0_s, t1_s] that contain a face (0 without a face detector)."""
        if self.faces.size != self.times_s.size or self.times_s.size == 0:
            return 0.0
        m = (self.times_s >= t0_s) & (self.times_s <= t1_s)
        return float(np.mean(self.faces[m] > 0)) if np.any(m) else 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "times_ms": [int(round(t * 1000)) for t in self.times_s.tolist()],
            "x": [round(v, 4) for v in self.x.tolist()],
            "y": [round(v, 4) for v in self.y.tolist()],
            "weight": [round(v, 3) for v in self.weight.tolist()],
            "face_detector": self.face_detector,
        }


class RoiTracker:
    """FramePump consumer that samples the region of interest (see module docstring)."""

    def __init__(self, info: VideoInfo, *, width: int = 320, every_s: float = 0.2, use_faces: bool = True) -> None:
        if width < 16:
            raise ValueError(f"width must be >= 16, got {width}")
        if every_s < 0:
            raise ValueError(f"every_s must be >= 0, got {every_s}")
        self.info = info
        self.frame_size = fit_width(info, width)
        self.every_s = float(every_s)
        self._cascade = _face_cascade() if use_faces else None
        self._prev: np.ndarray | None = None
        self._t: list[float] = []
        self._x: list[float] = []
        self._y: list[float] = []
        self._w: list[float] = []
        self._faces: list[int] = []
        w, h = self.frame_size
        self._gx, self._gy = np.meshgrid((np.arange(w) + 0.5) / w, (np.arange(h) + 0.5) / h)

    def push(self, image: np.ndarray, t_s: float) -> None:
        h, w = image.shape[:2]
        gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
        g = cv2.GaussianBlur(gray, (5, 5), 0).astype(np.float32)
        pts: list[tuple[float, float, float]] = [(0.5, 0.5, 0.5)]  # centre bias
        nfaces = 0
        if self._cascade is not None:
            faces = self._cascade.detectMultiScale(gray, scaleFactor=1.15, minNeighbors=5, minSize=(max(12, w // 30), max(12, w // 30)))
            for (fx, fy, fw, fh) in (faces if len(faces) else []):
                share = fw * fh / float(w * h)
                pts.append(((fx + fw / 2) / w, (fy + fh / 2) / h, max(2.0, 4.0 * share * 10)))
                nfaces += 1
        if self._prev is not None and self._prev.shape == g.shape:
            d = np.abs(g - self._prev)
            d -= float(np.median(d))  # global flicker / noise floor
            np.clip(d, 0, None, out=d)
            d[d < 8.0] = 0.0
            e = float(d.sum())
            if e > 0:
                moving = float(np.count_nonzero(d)) / d.size
                mx, my = float((d * self._gx).sum() / e), float((d * self._gy).sum() / e)
                pts.append((mx, my, 2.0 * min(1.0, moving / 0.05)))
        # spectral-residual saliency on a tiny thumbnail
        th = cv2.resize(gray, (64, max(2, int(round(64 * h / w)))), interpolation=cv2.INTER_AREA).astype(np.float32)
        spec = np.fft.fft2(th)
        logamp = np.log(np.abs(spec) + 1e-6)
        resid = logamp - cv2.blur(logamp, (3, 3))
        sal = np.abs(np.fft.ifft2(np.exp(resid + 1j * np.angle(spec)))) ** 2
        sal = cv2.GaussianBlur(sal.astype(np.float32), (0, 0), 2.5)
        sal -= sal.mean()
        np.clip(sal, 0, None, out=sal)
        s = float(sal.sum())
        if s > 0:
            sh, sw = sal.shape
            sx = float((sal.sum(axis=0) * (np.arange(sw) + 0.5) / sw).sum() / s)
            sy = float((sal.sum(axis=1) * (np.arange(sh) + 0.5) / sh).sum() / s)
            pts.append((sx, sy, 0.5))
        arr = np.array(pts, float)
        wsum = arr[:, 2].sum()
        self._t.append(float(t_s))
        self._x.append(float((arr[:, 0] * arr[:, 2]).sum() / wsum))
        self._y.append(float((arr[:, 1] * arr[:, 2]).sum() / wsum))
        self._w.append(float(1.0 - 0.5 / wsum))
        self._faces.append(nfaces)
        self._prev = g

    def finish(self) -> RoiTrack:
        if not self._t:
            return RoiTrack.centre(self.info.duration_seconds)
        return RoiTrack(
            np.array(self._t), np.clip(np.array(self._x), 0, 1), np.clip(np.array(self._y), 0, 1), np.array(self._w),
            "opencv-haar-frontalface" if self._cascade is not None else None, np.array(self._faces),
        )


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
) -> list[dict[str, float]]:
    """Crop-window keyframes for footage time ``t0_s``..``t1_s``.

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
    n = max(2, int(math.ceil((t1_s - t0_s) / step_s)) + 1)
    ts = np.linspace(t0_s, t1_s, n)
    pad = 3 * SMOOTH_SIGMA_S
    tt = np.arange(t0_s - pad, t1_s + pad + step_s / 2, step_s)
    x, y, w = track.at(tt)
    # evidence-weighted Gaussian smoothing (weights ≥ 0.05 so the centre bias still counts)
    k = np.exp(-0.5 * (np.arange(-int(pad / step_s), int(pad / step_s) + 1) * step_s / SMOOTH_SIGMA_S) ** 2)
    ww = np.maximum(w, 0.05)
    den = np.convolve(ww, k, mode="same")
    xs = np.convolve(x * ww, k, mode="same") / den
    ys = np.convolve(y * ww, k, mode="same") / den
    xs = np.interp(ts, tt, xs)
    ys = np.interp(ts, tt, ys)
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
