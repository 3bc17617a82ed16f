"""Region of interest of a video: where the viewer looks, sampled over time (for reframing).

:class:`RoiTracker` is a :class:`~clipzy.engine.media.FramePump` consumer (frames 320 px
wide, one every 0.2 s). For every sampled frame it estimates where the viewer looks, as a
weighted mean of up to four cues, each a point in normalised frame coordinates (0..1):

* **faces** (weight :data:`FACE_WEIGHT_PER_AREA` = 40 × the face's share of the frame area,
  at least :data:`FACE_MIN_WEIGHT` = 2 per face): OpenCV's frontal-face
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
evidence, 0..1); the editing half turns it into crop windows
(:mod:`clipzy.engine.editing.crop`).
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from ..media import VideoInfo, fit_width

FACE_WEIGHT_PER_AREA = 40.0  # ROI weight of a face per unit of its frame-area share
FACE_MIN_WEIGHT = 2.0  # ROI weight of any detected face, at least



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
                pts.append(((fx + fw / 2) / w, (fy + fh / 2) / h, max(FACE_MIN_WEIGHT, FACE_WEIGHT_PER_AREA * share)))
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
