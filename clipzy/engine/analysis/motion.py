"""Apparent motion and camera movement of a video (OpenCV DIS optical flow).

:class:`MotionAnalyzer` is a :class:`~clipzy.engine.media.FramePump` consumer. It asks for
frames about 320 px wide every ``every_s`` seconds (default 1/15 s; the pump hands over the
first frame at or after each due time, so a 30 fps video gives 15 pairs/s, 25 fps gives
12.5 pairs/s and 20 fps gives 10 pairs/s) and, for each pair of consecutive sampled frames,
computes in C:

* dense optical flow on the grey frames (``cv2.DISOpticalFlow``, FAST preset);
* the mean flow magnitude, normalised by the frame diagonal and divided by the real time
  between the two frames → apparent motion in diagonals per second;
* a robust global similarity transform (``cv2.estimateAffinePartial2D``, RANSAC with a
  :data:`RANSAC_THRESHOLD_PX` = 2 px threshold) fitted to the flow on a regular grid (every 8 px, 8 px border skipped):
  the camera's pan (x motion of the frame centre), tilt (y), zoom (log scale change) and
  roll.

Only those per-pair numbers are kept (about 80 bytes per pair), never frames.

``finish(shots_s)`` drops pairs that straddle a shot boundary, then per shot integrates the
global motion into a camera path (x, y in fractions of the frame diagonal and the log
scale) and splits it with a Savitzky–Golay filter (quadratic, window ≈
:data:`SMOOTH_WINDOW_S`) into the intended, low-frequency move and the jitter. Fields:

* ``motion_intensity`` (0–100): ``100·(1 − exp(−m / INTENSITY_REF))`` where m is the
  time-weighted mean flow magnitude in frame diagonals per second (:data:`INTENSITY_REF`
  = 0.2 diagonal/s → 63; a static tripod shot is ≈ 0, a constant motion of one diagonal
  per second is 99).
* ``zoom_usage`` (0–100): percent of the shots with measured camera motion that contain a
  zoom: the smoothed log scale changes by at least :data:`ZOOM_MIN_CHANGE` (ln 1.05, a 5 %
  scale change) within :data:`ZOOM_WINDOW_S` (1 s; the whole shot when shorter).
* ``motion.per_shot``: per shot ``intensity`` (0–100, same map over the shot), ``zoom``
  (mean zoom rate, natural-log scale change per second, > 0 zooming in), ``pan`` (mean
  camera pan rate in frame widths per second, > 0 the camera turns right so the picture
  moves left), ``tilt`` (frame heights per second, > 0 the camera tilts down so the picture
  moves up), ``shake`` (RMS distance of the camera path from its smoothed path, percent of
  the frame diagonal). A shot without usable pairs has None values.
* ``motion.camera``: share of the analysed time (sum of the pair durations) in each class,
  summing to 1. Each pair gets one class, in this order: ``handheld`` when the local RMS
  jitter (same window) is at least :data:`HANDHELD_JITTER` percent of the diagonal;
  otherwise the strongest of ``zoom`` / ``pan`` / ``tilt`` whose smoothed rate reaches its
  threshold (:data:`ZOOM_RATE_MIN`, :data:`PAN_RATE_MIN`, :data:`TILT_RATE_MIN`), judged by
  rate / threshold; otherwise ``static``.

With no frame pairs (a one-frame video, or only boundary-straddling pairs) every value is
None, never 0.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import cv2
import numpy as np
from scipy.signal import savgol_filter

from ..media import VideoInfo, fit_width, rgb_frame
from .spans import shot_starts

#: Analysis frame width in pixels (height keeps the aspect).
FRAME_WIDTH = 320
#: Flow grid step and border for the global fit, in analysis pixels.
GRID_STEP = 8
GRID_MARGIN = 8
#: RANSAC reprojection threshold, analysis pixels.
RANSAC_THRESHOLD_PX = 2.0
#: A global fit with fewer inliers than this share of the grid is not trusted.
MIN_INLIER_SHARE = 0.2

#: Flow magnitude (frame diagonals per second) that maps to intensity 100·(1 − 1/e) ≈ 63.
INTENSITY_REF = 0.2
#: Savitzky–Golay window of the camera-path smoothing, seconds (≥ 5 points used).
SMOOTH_WINDOW_S = 0.6
#: Local RMS jitter (percent of the frame diagonal) from which a pair counts as handheld.
HANDHELD_JITTER = 0.15
#: Smoothed pan rate (frame widths per second) from which a pair counts as a pan.
PAN_RATE_MIN = 0.03
#: Smoothed tilt rate (frame heights per second) from which a pair counts as a tilt.
TILT_RATE_MIN = 0.03
#: Smoothed zoom rate (natural-log scale change per second) from which a pair counts as a zoom.
ZOOM_RATE_MIN = 0.04
#: A shot contains a zoom when the scale changes by this much (log) within ZOOM_WINDOW_S.
ZOOM_MIN_CHANGE = math.log(1.05)
ZOOM_WINDOW_S = 1.0

CAMERA_CLASSES = ("static", "pan", "tilt", "zoom", "handheld")


def intensity_from_rate(rate_diag_per_s: float) -> float:
    """0–100 intensity from flow magnitude in diagonals/s: ``100·(1 − exp(−m/INTENSITY_REF))``."""
    return float(100.0 * (1.0 - math.exp(-max(0.0, rate_diag_per_s) / INTENSITY_REF)))


@dataclass
class _Pair:
    t0: float
    t1: float
    mag: float  # mean flow magnitude, analysis pixels
    dx: float  # x displacement of the frame centre under the global fit, pixels (content)
    dy: float  # y displacement, pixels
    log_s: float  # natural log of the global scale change
    rot: float  # roll, radians
    valid: bool  # global fit trusted


class MotionAnalyzer:
    """FramePump consumer measuring motion intensity, zoom usage and camera movement.

    ``every_s``: seconds between analysed frames (default 1/15 s). Frame pairs are
    consecutive analysed frames; rates use their real time difference.
    """

    def __init__(self, info: VideoInfo, *, every_s: float = 1.0 / 15.0) -> None:
        if not (every_s >= 0 and math.isfinite(every_s)):
            raise ValueError(f"every_s must be a finite number >= 0, got {every_s}")
        self.info = info
        self.every_s = float(every_s)
        self.frame_size: tuple[int, int] = fit_width(info, FRAME_WIDTH)
        w, h = self.frame_size
        self._diag = math.hypot(w, h)
        self._dis = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_FAST)
        xs = np.arange(min(GRID_MARGIN, w // 4), w - min(GRID_MARGIN, w // 4), GRID_STEP, dtype=np.int32)
        ys = np.arange(min(GRID_MARGIN, h // 4), h - min(GRID_MARGIN, h // 4), GRID_STEP, dtype=np.int32)
        gx, gy = np.meshgrid(xs, ys)
        self._gx, self._gy = gx.ravel(), gy.ravel()
        self._grid = np.stack([self._gx, self._gy], axis=1).astype(np.float32)
        self._centre = np.array([(w - 1) / 2.0, (h - 1) / 2.0, 1.0])
        self._prev: np.ndarray | None = None
        self._prev_t = 0.0
        self._pairs: list[_Pair] = []

    @property
    def pairs_analysed(self) -> int:
        return len(self._pairs)

    def push(self, image: np.ndarray, t_s: float) -> None:
        """Analyse one uint8 RGB frame ``(h, w, 3)`` shown at ``t_s`` seconds."""
        img = rgb_frame(image)
        if (img.shape[1], img.shape[0]) != self.frame_size:
            img = cv2.resize(img, self.frame_size, interpolation=cv2.INTER_AREA)
        grey = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)
        prev, self._prev, t0 = self._prev, grey, self._prev_t
        self._prev_t = float(t_s)
        if prev is None or t_s <= t0:
            return
        self._pairs.append(self._measure(prev, grey, t0, float(t_s)))

    def _measure(self, a: np.ndarray, b: np.ndarray, t0: float, t1: float) -> _Pair:
        flow = self._dis.calc(a, b, None)
        fx, fy = cv2.split(flow)
        mag = float(cv2.mean(cv2.magnitude(fx, fy))[0])
        src = self._grid
        dst = src + flow[self._gy, self._gx]
        m, inliers = cv2.estimateAffinePartial2D(
            src, dst, method=cv2.RANSAC, ransacReprojThreshold=RANSAC_THRESHOLD_PX, maxIters=500, confidence=0.99, refineIters=10
        )
        if m is None or inliers is None or float(inliers.mean()) < MIN_INLIER_SHARE:
            return _Pair(t0, t1, mag, 0.0, 0.0, 0.0, 0.0, False)
        scale = math.hypot(m[0, 0], m[1, 0])
        c = self._centre
        moved = m @ c
        return _Pair(t0, t1, mag, float(moved[0] - c[0]), float(moved[1] - c[1]), math.log(max(scale, 1e-6)),
                     math.atan2(m[1, 0], m[0, 0]), True)

    # -- pooling --------------------------------------------------------------------
    def _shot_pairs(self, shots_s: Sequence[tuple[float, float]] | None) -> tuple[int, list[list[_Pair]]]:
        if not shots_s:
            return 1, [list(self._pairs)]
        st = shot_starts(shots_s)
        groups: list[list[_Pair]] = [[] for _ in shots_s]
        for p in self._pairs:
            i0 = max(0, int(np.searchsorted(st, p.t0 + 1e-6, side="right")) - 1)
            i1 = max(0, int(np.searchsorted(st, p.t1 + 1e-6, side="right")) - 1)
            if i0 == i1:  # pairs straddling a boundary mix two shots
                groups[i0].append(p)
        return len(shots_s), groups

    def finish(self, shots_s: Sequence[tuple[float, float]] | None = None) -> dict[str, Any]:
        """Per-shot and pooled motion fields (see module doc).

        ``shots_s``: ordered (start_s, end_s) spans; None or empty = one shot.
        """
        _, groups = self._shot_pairs(shots_s)
        w, h = self.frame_size
        per_shot: list[dict[str, Any]] = []
        camera_time = dict.fromkeys(CAMERA_CLASSES, 0.0)
        all_rate, all_dt = [], []
        zoom_flags: list[bool] = []
        for g in groups:
            if not g:
                per_shot.append(dict.fromkeys(("intensity", "zoom", "pan", "tilt", "shake")))
                continue
            r = _shot_motion(g, w, h, self._diag)
            all_rate.append(r["rate"])
            all_dt.append(r["dt"])
            entry: dict[str, Any] = {"intensity": _r(intensity_from_rate(float(np.dot(r["rate"], r["dt"]) / r["dt"].sum())), 2),
                                     "zoom": None, "pan": None, "tilt": None, "shake": None}
            if r["valid"]:
                entry.update(zoom=_r(r["zoom"], 4), pan=_r(r["pan"], 4), tilt=_r(r["tilt"], 4),
                             shake=None if r["shake"] is None else _r(r["shake"], 4))
                zoom_flags.append(r["has_zoom"])
                for cls, t in r["classes"].items():
                    camera_time[cls] += t
            per_shot.append(entry)
        if all_dt:
            rate = np.concatenate(all_rate)
            dt = np.concatenate(all_dt)
            intensity: float | None = _r(intensity_from_rate(float(np.dot(rate, dt) / dt.sum())), 2)
        else:
            intensity = None
        total = sum(camera_time.values())
        camera = {k: (_r(v / total, 4) if total > 0 else None) for k, v in camera_time.items()}
        zoom_usage = _r(100.0 * sum(zoom_flags) / len(zoom_flags), 2) if zoom_flags else None
        return {"motion_intensity": intensity, "zoom_usage": zoom_usage, "motion": {"per_shot": per_shot, "camera": camera}}


def _r(x: float, digits: int) -> float:
    """Rounded, without a negative zero."""
    return round(float(x), digits) + 0.0


def _savgol(y: np.ndarray, window: int) -> np.ndarray:
    """Quadratic Savitzky–Golay smoothing that keeps straight lines and parabolas exact."""
    n = y.shape[0]
    win = min(window, n if n % 2 else n - 1)
    if win < 5:  # too short to separate jitter from the move: fit one parabola
        if n < 3:
            return y.copy()
        x = np.arange(n, dtype=np.float64)
        return np.polyval(np.polyfit(x, y, 2), x)
    return savgol_filter(y, win, 2, mode="interp")


def _shot_motion(pairs: list[_Pair], w: int, h: int, diag: float) -> dict[str, Any]:
    """Rates, path smoothing, jitter and camera classes of one shot's pairs."""
    t0 = np.array([p.t0 for p in pairs])
    t1 = np.array([p.t1 for p in pairs])
    dt = t1 - t0
    rate = np.array([p.mag for p in pairs]) / diag / dt
    valid = np.array([p.valid for p in pairs])
    out: dict[str, Any] = {"rate": rate, "dt": dt, "valid": bool(valid.any())}
    if not valid.any():
        return out
    # per-pair content displacement; untrusted pairs take the rate of their neighbours
    raw = np.array([[p.dx, p.dy, p.log_s] for p in pairs], dtype=np.float64) / dt[:, None]
    tm = 0.5 * (t0 + t1)
    if not valid.all():
        for k in range(3):
            raw[~valid, k] = np.interp(tm[~valid], tm[valid], raw[valid, k])
    step = raw * dt[:, None]
    times = np.concatenate([[t0[0]], t1])
    path = np.vstack([np.zeros((1, 3)), np.cumsum(step, axis=0)])  # content x, y (px), log scale
    med_dt = float(np.median(dt))
    window = max(5, int(round(SMOOTH_WINDOW_S / med_dt)) | 1)
    smooth = np.stack([_savgol(path[:, k], window) for k in range(3)], axis=1)
    jitter = np.hypot(path[:, 0] - smooth[:, 0], path[:, 1] - smooth[:, 1]) / diag * 100.0  # % diagonal
    n_pts = path.shape[0]
    shake = float(np.sqrt(np.mean(jitter ** 2))) if n_pts >= 4 else None
    # local RMS jitter at each pair (mean of the squared jitter of its two ends, windowed)
    j2 = jitter ** 2
    k = min(window, n_pts)
    local = np.sqrt(np.convolve(j2, np.ones(k) / k, mode="same"))
    local_pair = 0.5 * (local[:-1] + local[1:])
    sv = np.diff(smooth, axis=0) / dt[:, None]  # smoothed content rates per pair
    pan = -sv[:, 0] / w  # camera pans right when content moves left
    tilt = -sv[:, 1] / h
    zoom = sv[:, 2]
    ratios = np.stack([np.abs(pan) / PAN_RATE_MIN, np.abs(tilt) / TILT_RATE_MIN, np.abs(zoom) / ZOOM_RATE_MIN], axis=1)
    best = ratios.argmax(axis=1)
    cls = np.where(ratios.max(axis=1) >= 1.0, np.array(["pan", "tilt", "zoom"])[best], "static")
    if n_pts >= 4:
        cls = np.where(local_pair >= HANDHELD_JITTER, "handheld", cls)
    classes = {c: float(dt[valid & (cls == c)].sum()) for c in CAMERA_CLASSES}
    # zoom: smoothed log scale change within any ZOOM_WINDOW_S (the whole shot if shorter)
    z = smooth[:, 2]
    ahead = np.interp(np.minimum(times + ZOOM_WINDOW_S, times[-1]), times, z)
    has_zoom = bool(np.max(np.abs(ahead - z)) >= ZOOM_MIN_CHANGE)
    span = float(dt.sum())
    out.update(
        zoom=float((path[-1, 2] - path[0, 2]) / span),
        pan=float(-(path[-1, 0] - path[0, 0]) / w / span),
        tilt=float(-(path[-1, 1] - path[0, 1]) / h / span),
        shake=shake,
        classes=classes,
        has_zoom=has_zoom,
    )
    return out
