"""Footage quality: which clips can be used at all, and which of their moments look best.

:class:`QualityAnalyzer` is a :class:`~clipzy.engine.media.FramePump` consumer (frames 160 px
wide, one every :data:`SAMPLE_S` = 0.1 s). For every sample it keeps, in C, a few numbers and
one 32×18 grey thumbnail (0.6 kB; ten minutes of footage hold 3.5 MB):

* **edge sharpness** ``sharpness`` (:func:`edge_sharpness`): how steep the frame's strongest
  edges are for their contrast — the 90th percentile, over pixels whose 9×9 neighbourhood
  spans ≥ :data:`EDGE_CONTRAST` grey levels, of gradient magnitude ÷ that local range, on
  the grey frame at 160 px. The gradient is Sobel's central difference, the rise over two
  pixels, so a one-pixel step edge reads 1.0 whatever its contrast or the amount of detail
  in the picture (real sharp footage, whose edges are never ideal steps, reads less); a
  defocus blur of σ spreads it over ~σ pixels, and noise (small against the local range)
  hardly moves it. ``bench/focus.py`` prints it on the shared clips
  at 320 and 1280 px, H.264 CRF 18 and 32: sharp 0.47–0.80; a Gaussian defocus of σ = 1 % of
  the width 0.35–0.52, σ = 2 % 0.26–0.33, σ = 4–8 % ≤ 0.30 or no edge left at all (then the
  frame counts as soft when the picture still has contrast at a coarse scale, and as
  unmeasured when it is flat: a plain card is not out of focus);
* **exposure**: mean luma (0–255), the share of near-black pixels (luma < 20) and of
  clipped ones (luma ≥ 250);
* **change**: the mean absolute difference of the thumbnail against the previous sample's.

:meth:`QualityAnalyzer.finish` gives a :class:`ClipQuality`: the per-sample arrays, a badness
per sample (0 good … 1 unusable: black, blown out, out of focus or frozen at that moment) and
the clip's verdict — why it cannot be used (``reason``), or None:

* ``black``: ≥ 90 % of the samples are near-black (mean luma < 20 and ≥ 90 % black pixels);
* ``overexposed``: ≥ 50 % of the samples have ≥ 50 % clipped pixels;
* ``out_of_focus``: the median sharpness of the clip's measured samples is under
  :data:`OUT_OF_FOCUS_SHARPNESS` (0.4: between the sharp floor 0.47 and σ = 2 %'s 0.33);
* ``frozen``: the clip lasts ≥ 1 s and ≥ 95 % of its sample pairs change by less than
  :data:`FROZEN_CHANGE` (0.05 grey levels on area-averaged thumbnails: a repeated frame,
  not a still scene, whose sensor and codec noise move thumbnails by more);
* ``too_short``: shorter than :data:`MIN_CLIP_S` (0.5 s).

The thumbnails also tell the planner whether a cut inside one take changes the picture
visibly (:meth:`ClipQuality.difference`).
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..media import VideoInfo, fit_width, rgb_frame

SAMPLE_S = 0.1  # seconds between samples
FRAME_WIDTH = 160  # analysis width, pixels
THUMB = (32, 18)  # thumbnail size for picture-change tests, pixels
BLACK_LUMA = 20  # a pixel darker than this (0–255) is black
CLIPPED_LUMA = 250  # a pixel at least this bright is clipped
BLACK_FRAME_SHARE = 0.9  # a frame is black when this share of its pixels is (and its mean luma < BLACK_LUMA)
BLACK_CLIP_SHARE = 0.9  # a clip is black when this share of its samples is
BLOWN_FRAME_SHARE = 0.5  # a frame is blown out when this share of its pixels is clipped
BLOWN_CLIP_SHARE = 0.5  # a clip is overexposed when this share of its samples is blown out
EDGE_CONTRAST = 24  # local range (grey levels, 9×9) of a pixel counted as an edge
EDGE_WINDOW = np.ones((9, 9), np.uint8)
MIN_EDGE_SHARE = 0.005  # fewer edge pixels than this share of the frame: no edge to measure
FLAT_STD = 8.0  # grey std (0–255) of the 20 px picture under which a frame is flat, not soft
OUT_OF_FOCUS_SHARPNESS = 0.4  # median edge sharpness under which a clip is out of focus
SHARP_ENOUGH = 0.45  # per-sample badness ramps from 0 here to 1 at SOFT
SOFT = 0.35
FROZEN_CHANGE = 0.05  # thumbnail change (grey levels) under which two samples show the same frame
FROZEN_CLIP_SHARE = 0.95  # a clip is frozen when this share of its sample pairs is unchanged
MIN_FROZEN_S = 1.0  # shorter clips are never called frozen, seconds
MIN_CLIP_S = 0.5  # shorter clips are too short to use, seconds


@dataclass
class ClipQuality:
    """Per-sample measurements of one clip (times in seconds) and its verdict."""

    times_s: np.ndarray
    sharpness: np.ndarray  # NaN where unmeasured (a flat frame)
    mean_luma: np.ndarray
    black_share: np.ndarray
    clipped_share: np.ndarray
    change: np.ndarray  # against the previous sample (0 for the first)
    thumbs: np.ndarray  # float32 (n, 18, 32) grey
    reason: str | None  # why the clip cannot be used, or None

    @property
    def usable(self) -> bool:
        return self.reason is None

    def badness(self) -> np.ndarray:
        """Per sample, 0 (good) … 1 (black, blown out, out of focus or frozen there)."""
        if self.times_s.size == 0:
            return np.zeros(0)
        black = (self.black_share >= BLACK_FRAME_SHARE) & (self.mean_luma < BLACK_LUMA)
        blown = self.clipped_share >= BLOWN_FRAME_SHARE
        soft = np.nan_to_num(np.clip((SHARP_ENOUGH - self.sharpness) / (SHARP_ENOUGH - SOFT), 0, 1), nan=0.0)
        return np.maximum.reduce([black.astype(float), blown.astype(float), soft])

    def thumb_at(self, t_s: float) -> np.ndarray | None:
        """The thumbnail of the sample nearest to ``t_s`` (None without samples)."""
        if self.times_s.size == 0:
            return None
        return self.thumbs[int(np.argmin(np.abs(self.times_s - t_s)))]

    def difference(self, a_s: float, b_s: float) -> float | None:
        """How different the picture at ``a_s`` and at ``b_s`` looks (mean absolute thumbnail
        difference, grey levels 0–255); None without samples."""
        ta, tb = self.thumb_at(a_s), self.thumb_at(b_s)
        return None if ta is None or tb is None else float(np.abs(ta - tb).mean())

    def differences(self, a_s: float, b_s: np.ndarray) -> np.ndarray:
        """:meth:`difference` of the picture at ``a_s`` against each time of ``b_s`` (zeros
        without samples)."""
        b_s = np.asarray(b_s, float)
        if self.times_s.size == 0:
            return np.zeros(b_s.shape)
        idx = np.clip(np.searchsorted(self.times_s, b_s), 0, self.times_s.size - 1)
        prev = np.clip(idx - 1, 0, self.times_s.size - 1)
        idx = np.where(np.abs(self.times_s[prev] - b_s) <= np.abs(self.times_s[idx] - b_s), prev, idx)
        ta = self.thumb_at(a_s)
        return np.abs(self.thumbs[idx] - ta).mean(axis=(1, 2))

    def natural_change(self, t_s: np.ndarray | float, *, within_s: float = 0.5) -> np.ndarray:
        """How much the picture changes by itself from one sample to the next around ``t_s``
        (median ``change`` of the samples within ±``within_s``; grey levels)."""
        t = np.atleast_1d(np.asarray(t_s, float))
        if self.times_s.size < 2:
            return np.zeros(t.shape)
        ch = self.change.copy()
        ch[0] = ch[1]
        lo = np.searchsorted(self.times_s, t - within_s)
        hi = np.maximum(lo + 1, np.searchsorted(self.times_s, t + within_s, side="right"))
        return np.array([float(np.median(ch[a:b])) for a, b in zip(np.minimum(lo, ch.size - 1), hi)])


def edge_sharpness(grey: np.ndarray) -> float:
    """Edge sharpness of a grey uint8 frame (module docstring): 1.0 for a step edge, lower
    the wider edges are spread; 0.0 when no edge is left but the picture has coarse contrast
    (blurred away); NaN when the picture is flat."""
    g = grey if grey.shape[1] == FRAME_WIDTH else cv2.resize(
        grey, (FRAME_WIDTH, max(2, round(grey.shape[0] * FRAME_WIDTH / grey.shape[1]))), interpolation=cv2.INTER_AREA)
    gf = g.astype(np.float32)
    gx = cv2.Sobel(gf, cv2.CV_32F, 1, 0, ksize=3)
    gy = cv2.Sobel(gf, cv2.CV_32F, 0, 1, ksize=3)
    grad = cv2.magnitude(gx, gy) / 4.0  # Sobel's 1-2-1 weights sum to 4: grey levels over two pixels
    span = cv2.subtract(cv2.dilate(g, EDGE_WINDOW), cv2.erode(g, EDGE_WINDOW))
    edges = span >= EDGE_CONTRAST
    if edges.mean() < MIN_EDGE_SHARE:
        coarse = cv2.resize(gf, (20, max(2, round(20 * gf.shape[0] / gf.shape[1]))), interpolation=cv2.INTER_AREA)
        return 0.0 if float(coarse.std()) >= FLAT_STD else float("nan")
    return float(np.percentile(grad[edges] / span[edges].astype(np.float32), 90))


def clip_verdict(q: ClipQuality, duration_s: float) -> str | None:
    """The rule of the module docstring: why a clip cannot be used, or None."""
    if duration_s < MIN_CLIP_S or q.times_s.size == 0:
        return "too_short"
    black = (q.black_share >= BLACK_FRAME_SHARE) & (q.mean_luma < BLACK_LUMA)
    if black.mean() >= BLACK_CLIP_SHARE:
        return "black"
    if (q.clipped_share >= BLOWN_FRAME_SHARE).mean() >= BLOWN_CLIP_SHARE:
        return "overexposed"
    measured = q.sharpness[~np.isnan(q.sharpness)]
    if measured.size and float(np.median(measured)) < OUT_OF_FOCUS_SHARPNESS:
        return "out_of_focus"
    if duration_s >= MIN_FROZEN_S and q.change.size > 1 and (q.change[1:] < FROZEN_CHANGE).mean() >= FROZEN_CLIP_SHARE:
        return "frozen"
    return None


class QualityAnalyzer:
    """FramePump consumer measuring focus, exposure and change (see the module docstring)."""

    def __init__(self, info: VideoInfo, *, every_s: float = SAMPLE_S) -> None:
        if every_s <= 0:
            raise ValueError(f"every_s must be > 0, got {every_s}")
        self.info = info
        self.every_s = float(every_s)
        self.frame_size = fit_width(info, FRAME_WIDTH)
        self._rows: list[tuple[float, float, float, float, float, float]] = []
        self._thumbs: list[np.ndarray] = []

    def push(self, image: np.ndarray, t_s: float) -> None:
        g = cv2.cvtColor(rgb_frame(image), cv2.COLOR_RGB2GRAY)
        gf = g.astype(np.float32)
        sharp = edge_sharpness(g)
        thumb = cv2.resize(gf, THUMB, interpolation=cv2.INTER_AREA)
        change = float(np.abs(thumb - self._thumbs[-1]).mean()) if self._thumbs else 0.0
        self._rows.append((float(t_s), sharp, float(gf.mean()), float((g < BLACK_LUMA).mean()),
                           float((g >= CLIPPED_LUMA).mean()), change))
        self._thumbs.append(thumb)

    def finish(self, duration_s: float | None = None) -> ClipQuality:
        """The clip's :class:`ClipQuality`; ``duration_s``: how much of it decoded (default: probed)."""
        rows = np.asarray(self._rows, float).reshape(-1, 6)
        thumbs = np.stack(self._thumbs) if self._thumbs else np.zeros((0, THUMB[1], THUMB[0]), np.float32)
        q = ClipQuality(rows[:, 0], rows[:, 1], rows[:, 2], rows[:, 3], rows[:, 4], rows[:, 5], thumbs, None)
        q.reason = clip_verdict(q, self.info.duration_seconds if duration_s is None else duration_s)
        return q
