"""Footage quality: which clips can be used at all, and which of their moments look best.

:class:`QualityAnalyzer` is a :class:`~clipzy.engine.media.FramePump` consumer (frames 160 px
wide, one every :data:`SAMPLE_S` = 0.1 s). For every sample it keeps, in C, a few numbers and
one 32×18 grey thumbnail (0.6 kB; ten minutes of footage hold 3.5 MB):

* **fine detail** ``detail``: the variance of the Laplacian of the grey frame at 160 px
  divided by that at 80 px. Blur removes the finest scale first, so the ratio measures focus
  independently of how much detail the content has: sharp footage reads ≥ 0.3 (on the
  shared clips 0.30–2.5, flat motion graphics included); a Gaussian defocus of σ = 0.9 % of
  the frame width reads ≤ 0.12 on the same content (σ = 0.5 %: 0.14–0.36);
* **exposure**: mean luma (0–255), the share of near-black pixels (luma < 20) and of
  clipped ones (luma ≥ 250);
* **change**: the mean absolute difference of the thumbnail against the previous sample's.

:meth:`QualityAnalyzer.finish` gives a :class:`ClipQuality`: the per-sample arrays, a badness
per sample (0 good … 1 unusable: black, blown out, out of focus or frozen at that moment) and
the clip's verdict — why it cannot be used (``reason``), or None:

* ``black``: ≥ 90 % of the samples are near-black (mean luma < 20 and ≥ 90 % black pixels);
* ``overexposed``: ≥ 50 % of the samples have ≥ 50 % clipped pixels;
* ``out_of_focus``: the clip's median fine detail is under :data:`OUT_OF_FOCUS_DETAIL` (0.2,
  a factor 1.5 from both the sharp and the strongly defocused figures above);
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
OUT_OF_FOCUS_DETAIL = 0.2  # fine-detail ratio under which a clip (its median) is out of focus
FROZEN_CHANGE = 0.05  # thumbnail change (grey levels) under which two samples show the same frame
FROZEN_CLIP_SHARE = 0.95  # a clip is frozen when this share of its sample pairs is unchanged
MIN_FROZEN_S = 1.0  # shorter clips are never called frozen, seconds
MIN_CLIP_S = 0.5  # shorter clips are too short to use, seconds


@dataclass
class ClipQuality:
    """Per-sample measurements of one clip (times in seconds) and its verdict."""

    times_s: np.ndarray
    detail: np.ndarray
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
        soft = np.clip((OUT_OF_FOCUS_DETAIL * 1.5 - self.detail) / (OUT_OF_FOCUS_DETAIL * 0.5), 0, 1)
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


def clip_verdict(q: ClipQuality, duration_s: float) -> str | None:
    """The rule of the module docstring: why a clip cannot be used, or None."""
    if duration_s < MIN_CLIP_S or q.times_s.size == 0:
        return "too_short"
    black = (q.black_share >= BLACK_FRAME_SHARE) & (q.mean_luma < BLACK_LUMA)
    if black.mean() >= BLACK_CLIP_SHARE:
        return "black"
    if (q.clipped_share >= BLOWN_FRAME_SHARE).mean() >= BLOWN_CLIP_SHARE:
        return "overexposed"
    if float(np.median(q.detail)) < OUT_OF_FOCUS_DETAIL:
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
        half = cv2.resize(gf, (max(2, gf.shape[1] // 2), max(2, gf.shape[0] // 2)), interpolation=cv2.INTER_AREA)
        fine, coarse = float(cv2.Laplacian(gf, cv2.CV_32F).var()), float(cv2.Laplacian(half, cv2.CV_32F).var())
        detail = fine / coarse if coarse > 1e-3 else 1.0  # no structure at all: nothing to call blurred
        thumb = cv2.resize(gf, THUMB, interpolation=cv2.INTER_AREA)
        change = float(np.abs(thumb - self._thumbs[-1]).mean()) if self._thumbs else 0.0
        self._rows.append((float(t_s), detail, float(gf.mean()), float((g < BLACK_LUMA).mean()),
                           float((g >= CLIPPED_LUMA).mean()), change))
        self._thumbs.append(thumb)

    def finish(self, duration_s: float | None = None) -> ClipQuality:
        """The clip's :class:`ClipQuality`; ``duration_s``: how much of it decoded (default: probed)."""
        rows = np.asarray(self._rows, float).reshape(-1, 6)
        thumbs = np.stack(self._thumbs) if self._thumbs else np.zeros((0, THUMB[1], THUMB[0]), np.float32)
        q = ClipQuality(rows[:, 0], rows[:, 1], rows[:, 2], rows[:, 3], rows[:, 4], rows[:, 5], thumbs, None)
        q.reason = clip_verdict(q, self.info.duration_seconds if duration_s is None else duration_s)
        return q
