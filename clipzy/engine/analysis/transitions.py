"""What kind of transition a span of frames is: ``cut``, ``dissolve``, ``fade`` or ``wipe``.

:func:`classify_span` types the transition between the first frame (old shot) and the last
frame (new shot) of a short run of consecutive frames, from the frames themselves:

- **fade**: some inner frame is uniform near-black/white (mean luma below
  :data:`DARK_LUMA` or above :data:`BRIGHT_LUMA`, spread under :data:`FLAT_STD`) and the
  ends are not; its span is where the mean luma moves toward/away from that level;
- **cut**: the blend weight of the two ends jumps by at least :data:`CUT_JUMP` between two
  frames;
- **wipe**: pixels show one shot or the other with a moving straight edge (a split of rows
  or columns separates them) and that explains the transition frames far better than a
  global blend (residual ratio under :data:`WIPE_RESIDUAL_RATIO`);
- **dissolve**: otherwise (a gradual change of the whole frame).

The measured progress curve (blend weight, wiped share, fade level) gives the easing
(:func:`easing_of`, against :data:`clipzy.engine.terms.EASING_CURVES`).
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..terms import EASING_CURVES

DARK_LUMA = 24.0  # mean luma (0..255) at or below which a uniform frame is black
BRIGHT_LUMA = 232.0  # mean luma (0..255) at or above which a uniform frame is white
FLAT_STD = 14.0  # luma standard deviation (0..255) under which a frame is uniform
MIN_END_RMS = 4.0  # luma RMS difference (0..255) the two ends need to hold a transition
CUT_JUMP = 0.5  # blend-weight step between two frames that makes a cut
MOVING_LO, MOVING_HI = 0.1, 0.9  # blend weights of frames inside a gradual transition
WIPE_RESIDUAL_RATIO = 0.6  # wipe residual ÷ blend residual under which a span is a wipe
WIPE_MOVING_LO, WIPE_MOVING_HI = 0.02, 0.98  # wiped shares of frames inside a wipe
FADE_START_PROGRESS = 0.04  # fade-out progress at which the outgoing picture starts to fade
FADE_IN_DONE = 0.96  # fade-in progress at which the incoming picture is fully up
FADE_OUT_DONE = 0.97  # fade-to-level progress at which the level is reached
DISSOLVE_EDGE_MIN, DISSOLVE_EDGE_MAX = 0.015, 0.985  # blend weights a dissolve's slow ends stay within
DISSOLVE_EDGE_STEP = 0.004  # blend-weight rise per frame that still counts as part of a dissolve
MONOTONIC_TOLERANCE = 0.05  # blend-weight fall per frame still counted as monotonic


@dataclass(frozen=True)
class SpanType:
    """Result of :func:`classify_span`: frame indices relative to the frames given."""

    type: str
    start: int  # first transition frame (cut: first frame of the new shot)
    end: int  # first frame fully in the new shot (cut: == start)
    easing: str
    score: float  # 0..1 how clearly the frames show the type
    hist_distance: float = 0.0  # 0..1 colour difference of the two ends


def easing_of(progress: np.ndarray) -> str:
    """Nearest easing curve to a measured progress curve (values 0..1 at equally spaced
    frames strictly inside the transition). Fewer than 3 samples → "linear"."""
    p = np.clip(np.asarray(progress, dtype=np.float64), 0, 1)
    n = len(p)
    if n < 3:
        return "linear"
    x = np.arange(1, n + 1) / (n + 1)
    err = {name: float(np.mean((f(x) - p) ** 2)) for name, f in EASING_CURVES.items()}
    return min(err, key=err.get)


def luma(frames: np.ndarray) -> np.ndarray:
    """uint8 RGB [n, h, w, 3] → float32 luma [n, h, w] (BT.601), lightly blurred."""
    g = frames.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
    k = 3 if min(g.shape[1:]) >= 24 else 1
    if k > 1:
        g = np.stack([cv2.GaussianBlur(x, (k, k), 0) for x in g])
    return g


def _wipe_fit(g: np.ndarray, a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Best straight-edge wipe explanation of each frame: shot ``b`` on one side of a
    vertical or horizontal split, shot ``a`` on the other.

    ``g``: float luma [m, h, w]; ``a``, ``b``: [h, w]. Returns (squared error per frame,
    progress per frame = share of the frame already showing ``b``, 0..1).
    """
    ea = (g - a[None]) ** 2
    eb = (g - b[None]) ** 2
    best = np.full(len(g), np.inf)
    prog = np.zeros(len(g))
    for sum_axis in (1, 2):  # 1: column profiles (vertical edge), 2: row profiles
        pa, pb = ea.sum(axis=sum_axis), eb.sum(axis=sum_axis)
        ca = np.concatenate([np.zeros((len(g), 1)), np.cumsum(pa, 1)], 1)
        cb = np.concatenate([np.zeros((len(g), 1)), np.cumsum(pb, 1)], 1)
        length = pa.shape[1]
        frac = np.arange(length + 1) / length
        for err, p in ((cb + (ca[:, -1:] - ca), frac), (ca + (cb[:, -1:] - cb), 1 - frac)):
            k = np.argmin(err, axis=1)
            e = err[np.arange(len(g)), k]
            better = e < best
            best = np.where(better, e, best)
            prog = np.where(better, p[k], prog)
    return best, prog


def hist_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Bhattacharyya distance (0..1) of the HSV hue/saturation histograms of two RGB frames."""
    hs = []
    for img in (a, b):
        hsv = cv2.cvtColor(np.ascontiguousarray(img), cv2.COLOR_RGB2HSV)
        h = cv2.calcHist([hsv], [0, 1, 2], None, [12, 4, 4], [0, 180, 0, 256, 0, 256])
        hs.append(cv2.normalize(h, h).astype(np.float32))
    return float(cv2.compareHist(hs[0], hs[1], cv2.HISTCMP_BHATTACHARYYA))


def classify_span(frames: np.ndarray, *, span: tuple[int, int] | None = None, dark: float = DARK_LUMA,
                  bright: float = BRIGHT_LUMA) -> SpanType | None:
    """Type the transition between ``frames[0]`` (old shot) and ``frames[-1]`` (new shot).

    ``frames``: uint8 RGB ``[n, h, w, 3]``, n >= 2, consecutive frames. ``span``: the
    frames (start, end) known to be in transition (e.g. from TransNetV2's many-hot head),
    else it is measured. ``dark``/``bright``: mean-luma levels (0..255) counted as
    black/white. Returns None when the ends do not differ (no transition to type). The
    rules are in the module docstring.
    """
    if frames.ndim != 4 or len(frames) < 2:
        raise ValueError("frames must be [n>=2, h, w, 3]")
    n = len(frames)
    if span is not None and not (0 < span[0] <= span[1] < n):
        raise ValueError("span must satisfy 0 < start <= end < len(frames)")
    g = luma(frames)
    mean = g.reshape(n, -1).mean(1)
    std = g.reshape(n, -1).std(1)
    uniform = ((mean < dark) | (mean > bright)) & (std < FLAT_STD)
    inner = np.arange(1, n - 1)
    if len(inner) and uniform[inner].any() and not (uniform[0] and uniform[-1]):
        return _fade(frames, mean, uniform, inner)
    a, b = g[0], g[-1]
    d = b - a
    dd = float(np.sum(d * d))
    rms_ab = float(np.sqrt(dd / d.size))
    if rms_ab < MIN_END_RMS:
        return None
    hist = hist_distance(frames[0], frames[-1])
    alpha = ((g - a).reshape(n, -1) @ d.reshape(-1)) / dd  # blend weight of the new shot per frame
    jumps = np.diff(alpha)
    j = int(np.argmax(jumps))
    cut = SpanType("cut", j + 1, j + 1, "linear", float(np.clip(jumps[j], 0, 1)), hist)
    if jumps[j] >= CUT_JUMP:
        return cut
    if span is None:
        moving = np.nonzero((alpha[1:-1] > MOVING_LO) & (alpha[1:-1] < MOVING_HI))[0] + 1
        if len(moving) == 0:
            return cut
        lo, hi = int(moving[0]), int(moving[-1]) + 1
    else:
        lo, hi = span
    if hi - lo < 1:
        return cut
    blend = a[None] + alpha[:, None, None] * d[None]
    wipe = _wipe(g, blend, alpha, lo, hi, measured=span is None, hist=hist)
    if wipe is not None:
        return wipe
    return _dissolve(g, blend, alpha, lo, hi, rms_ab=rms_ab, hist=hist)


def _fade(frames: np.ndarray, mean: np.ndarray, uniform: np.ndarray, inner: np.ndarray) -> SpanType:
    """A fade through the uniform inner frames: out of the old shot, then into the new one."""
    k_flat = inner[uniform[inner]]
    first, last = int(k_flat[0]), int(k_flat[-1])
    level = 0.0 if mean[first] < 128 else 255.0
    span_lo = first
    out_curve = np.array([])
    if not uniform[0]:
        prog = 1 - np.abs(mean[:first + 1] - level) / (abs(mean[0] - level) + 1e-6)
        moving = np.nonzero(prog > FADE_START_PROGRESS)[0]
        span_lo = int(moving[0]) if len(moving) else first
        out_curve = prog[span_lo:first]
    in_curve = np.array([])
    if not uniform[-1]:
        prog = np.abs(mean[last:] - level) / (abs(mean[-1] - level) + 1e-6)
        done = np.nonzero(prog > FADE_IN_DONE)[0]
        span_hi = last + (int(done[0]) if len(done) else len(prog) - 1)
        in_curve = prog[1:span_hi - last]
    else:  # fade to black/white: ends where the level is (all but) reached
        prog = 1 - np.abs(mean[first:] - level) / (abs(mean[0] - level) + 1e-6)
        done = np.nonzero(prog > FADE_OUT_DONE)[0]
        span_hi = first + (int(done[0]) if len(done) else 0)
    curve = out_curve if len(out_curve) >= len(in_curve) else in_curve
    span_lo = max(1, span_lo)
    return SpanType("fade", span_lo, max(span_lo, span_hi), easing_of(curve), 1.0, hist_distance(frames[0], frames[-1]))


def _wipe(g: np.ndarray, blend: np.ndarray, alpha: np.ndarray, lo: int, hi: int, *, measured: bool,
          hist: float) -> SpanType | None:
    """A wipe when a moving straight edge explains frames lo..hi far better than a blend."""
    n = len(g)
    r_blend = ((g - blend) ** 2).reshape(n, -1).sum(1)
    r_wipe, w_prog = _wipe_fit(g, g[0], g[-1])
    ratio = float(np.median(r_wipe[lo:hi] / np.maximum(r_blend[lo:hi], 1e-6)))
    if ratio >= WIPE_RESIDUAL_RATIO or hi - lo < 2:
        return None
    if measured:
        moving = np.nonzero((w_prog[1:-1] > WIPE_MOVING_LO) & (w_prog[1:-1] < WIPE_MOVING_HI))[0] + 1
        if len(moving):
            lo, hi = int(moving[0]), int(moving[-1]) + 1
    return SpanType("wipe", lo, hi, easing_of(w_prog[lo:hi]), float(np.clip(1 - ratio, 0, 1)), hist)


def _dissolve(g: np.ndarray, blend: np.ndarray, alpha: np.ndarray, lo: int, hi: int, *, rms_ab: float,
              hist: float) -> SpanType:
    """A dissolve over lo..hi, widened over the slow start/end of an eased blend (monotonic,
    up to half the core length each side); easing from the blend weight inside the span."""
    n = len(g)
    lim = max(1, (hi - lo) // 2)
    lo0, hi0 = lo, hi
    while lo > 1 and lo0 - lo < lim and DISSOLVE_EDGE_MIN < alpha[lo - 1] < alpha[lo] - DISSOLVE_EDGE_STEP:
        lo -= 1
    while hi < n - 1 and hi - hi0 < lim and alpha[hi - 1] + DISSOLVE_EDGE_STEP < alpha[hi] < DISSOLVE_EDGE_MAX:
        hi += 1
    a0, a1 = alpha[lo - 1], alpha[min(hi, n - 1)]
    prog = (alpha[lo:hi] - a0) / (a1 - a0) if a1 - a0 > 0.2 else alpha[lo:hi]
    resid = float(np.mean(np.sqrt(((g[lo:hi] - blend[lo:hi]) ** 2).reshape(hi - lo, -1).mean(1)) / rms_ab))
    mono = float(np.mean(np.diff(alpha[lo - 1:min(hi, n - 1) + 1]) > -MONOTONIC_TOLERANCE))
    return SpanType("dissolve", lo, hi, easing_of(prog), float(np.clip(0.5 * mono + 0.5 * (1 - resid), 0, 1)), hist)
