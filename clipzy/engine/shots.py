"""Shot boundaries and transitions of a video (the Style DNA's shots/transitions/pacing).

Two detectors with one interface, both :class:`~clipzy.engine.media.FramePump` consumers
with ``finish() -> ShotResult``:

- :class:`TransNetDetector` runs TransNetV2 (ONNX, see :mod:`clipzy.engine.transnet`) on
  48x27 frames in 100-frame windows as frames arrive (several windows per
  ``session.run``) and keeps only a rolling buffer of frames;
- :class:`ClassicalDetector` is the fallback when the model is not prepared: an adaptive
  HSV content detector for cuts, a long-range difference detector for gradual
  transitions, and a fade detector (mean luma to/from black or white).

Every candidate span is then typed by :func:`classify_span` from the frames themselves:
``fade`` when it passes through a near-black/white frame, ``wipe`` when each pixel
shows one shot or the other and the shared area moves across the frame, ``dissolve``
when frames fit a blend of the shots either side, ``cut`` when the change happens
between two frames. The measured blend curve gives the easing.

Times are float seconds; a cut has ``start_s == end_s`` = time of the first frame of
the new shot; a gradual transition spans from its first changed frame to the first
frame fully in the new shot (``end_s``).
"""
from __future__ import annotations

import collections
import statistics
from dataclasses import dataclass, field
from typing import Any, Iterable

import cv2
import numpy as np

from . import models, transnet
from .media import VideoInfo

TYPES = ("cut", "dissolve", "fade", "wipe")
EASINGS = ("linear", "ease-in", "ease-out", "ease-in-out")


@dataclass(frozen=True)
class Transition:
    """One shot boundary. Seconds; ``confidence`` 0..1; ``type`` in TYPES; ``easing`` in EASINGS."""

    start_s: float
    end_s: float
    type: str
    confidence: float
    easing: str = "linear"

    @property
    def duration_s(self) -> float:
        return max(0.0, self.end_s - self.start_s)


@dataclass
class ShotResult:
    """What a detector measured: its transitions in time order and how it ran."""

    transitions: list[Transition]
    detector: str
    provider: str | None = None
    frames: int = 0
    stats: dict[str, Any] = field(default_factory=dict)

    def shots_s(self, duration_s: float) -> list[tuple[float, float]]:
        """Shot spans (start_s, end_s) covering 0..duration_s; a transition's frames
        belong to the shot it leads into (the boundary is the transition's start)."""
        if duration_s < 0:
            raise ValueError("duration_s must be >= 0")
        cuts = sorted({round(tr.start_s, 6) for tr in self.transitions if 1e-3 < tr.start_s < duration_s - 1e-3})
        edges = [0.0] + cuts + [float(duration_s)]
        return [(a, b) for a, b in zip(edges[:-1], edges[1:]) if b > a]


# ---------------------------------------------------------------------------
# Typing a span from its frames
# ---------------------------------------------------------------------------

_EASE_CURVES = {
    "linear": lambda x: x,
    "ease-in": lambda x: x * x,
    "ease-out": lambda x: 1 - (1 - x) ** 2,
    "ease-in-out": lambda x: x * x * (3 - 2 * x),
}


def easing_of(progress: np.ndarray) -> str:
    """Nearest easing curve to a measured progress curve (values 0..1 at equally spaced
    frames strictly inside the transition). Fewer than 3 samples → "linear"."""
    p = np.clip(np.asarray(progress, dtype=np.float64), 0, 1)
    n = len(p)
    if n < 3:
        return "linear"
    x = np.arange(1, n + 1) / (n + 1)
    err = {name: float(np.mean((f(x) - p) ** 2)) for name, f in _EASE_CURVES.items()}
    return min(err, key=err.get)


def _gray(frames: np.ndarray) -> np.ndarray:
    """uint8 RGB [n, h, w, 3] → float32 luma [n, h, w] (BT.601), lightly blurred."""
    g = frames.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
    k = 3 if min(g.shape[1:]) >= 24 else 1
    if k > 1:
        g = np.stack([cv2.GaussianBlur(x, (k, k), 0) for x in g])
    return g


@dataclass(frozen=True)
class SpanType:
    """Result of :func:`classify_span`: frame indices relative to the frames given."""

    type: str
    start: int  # first transition frame (cut: first frame of the new shot)
    end: int  # first frame fully in the new shot (cut: == start)
    easing: str
    score: float  # 0..1 how well the frames fit the type


def classify_span(frames: np.ndarray, *, dark: float = 24.0, bright: float = 232.0) -> SpanType | None:
    """Type the transition between ``frames[0]`` (last clean frame of the old shot) and
    ``frames[-1]`` (first clean frame of the new shot).

    ``frames``: uint8 RGB ``[n, h, w, 3]``, n >= 2, consecutive frames. ``dark``/``bright``:
    mean-luma levels (0..255) counted as black/white for fades. Returns None when the
    frames show no transition (no frame-level change that fits any type).
    """
    if frames.ndim != 4 or len(frames) < 2:
        raise ValueError("frames must be [n>=2, h, w, 3]")
    g = _gray(frames)
    n = len(g)
    mean = g.reshape(n, -1).mean(1)
    std = g.reshape(n, -1).std(1)
    a, b = g[0], g[-1]
    d = b - a
    dd = float(np.sum(d * d))
    rms_ab = float(np.sqrt(dd / d.size))
    flat = (mean < dark) & (std < 14) | (mean > bright) & (std < 14)

    # Fade: passes through (near) black or white that neither end is.
    inner = np.arange(n)[1:-1]
    if len(inner) and flat[inner].any() and not (flat[0] and flat[-1]):
        k_flat = inner[flat[inner]]
        first, last = int(k_flat[0]), int(k_flat[-1])
        level = 0.0 if mean[first] < 128 else 255.0
        # progress of the fade-out (toward the flat level) and fade-in (away from it)
        span_lo, span_hi = first, last + 1
        out_curve = np.array([])
        if not flat[0]:
            ref = abs(mean[0] - level) + 1e-6
            prog = 1 - np.abs(mean[:first + 1] - level) / ref
            moving = np.nonzero(prog > 0.04)[0]
            span_lo = int(moving[0]) if len(moving) else first
            out_curve = prog[span_lo:first]
        in_curve = np.array([])
        if not flat[-1]:
            ref = abs(mean[-1] - level) + 1e-6
            prog = np.abs(mean[last:] - level) / ref
            done = np.nonzero(prog > 0.96)[0]
            span_hi = last + (int(done[0]) if len(done) else len(prog) - 1)
            in_curve = prog[1:span_hi - last]
        else:
            span_hi = first  # fade to black/white: ends at the first flat frame
        curve = out_curve if len(out_curve) >= len(in_curve) else in_curve
        return SpanType("fade", max(1, span_lo), max(span_lo, span_hi), easing_of(curve), 1.0)

    if rms_ab < 4.0:  # the two sides look the same: nothing to type
        return None

    alpha = ((g - a).reshape(n, -1) @ d.reshape(-1)) / dd
    blend = a[None] + alpha[:, None, None] * d[None]
    resid = np.sqrt(((g - blend) ** 2).reshape(n, -1).mean(1)) / rms_ab
    # per-pixel: does the frame show shot A or shot B there? (only where they differ)
    sig = np.abs(d) > max(12.0, 0.5 * rms_ab)
    if sig.mean() < 0.05:
        sig = np.abs(d) > 0.5 * np.abs(d).max()
    ea = np.abs(g - a)[:, sig]
    eb = np.abs(g - b)[:, sig]
    tol = 0.3 * np.abs(d)[sig]
    match_b = (eb < tol).mean(1)
    either = ((ea < tol) | (eb < tol)).mean(1)

    # where does the change happen? frames whose blend weight is clearly between the ends
    moving = (alpha > 0.1) & (alpha < 0.9)
    moving[0] = moving[-1] = False
    idx = np.nonzero(moving)[0]
    if len(idx) == 0:
        # a cut: the step between consecutive frames with the largest jump in alpha
        k = int(np.argmax(np.diff(alpha))) + 1
        return SpanType("cut", k, k, "linear", float(np.clip(np.max(np.diff(alpha)), 0, 1)))
    lo, hi = int(idx[0]), int(idx[-1]) + 1
    mid = (alpha > 0.25) & (alpha < 0.75)
    mid[0] = mid[-1] = False
    if not mid.any():
        mid = moving
    wipe_score = float(np.mean(either[mid]))
    dissolve_fit = float(np.mean(resid[moving]))
    # widen to the frames that are still changing (blend weight not yet at its ends)
    while lo > 1 and 0.03 < alpha[lo - 1] < 0.97:
        lo -= 1
    while hi < n - 1 and 0.03 < alpha[hi] < 0.97:
        hi += 1
    if wipe_score > 0.75 and np.ptp(match_b[lo:hi + 1]) > 0.4 and hi - lo >= 2:
        prog = match_b[lo:hi]
        return SpanType("wipe", lo, hi, easing_of(prog), float(np.clip(wipe_score, 0, 1)))
    if dissolve_fit < 0.45:
        mono = float(np.mean(np.diff(alpha[lo - 1:hi + 1]) >= -0.03))
        if hi - lo <= 1 and mono:
            k = lo if alpha[lo] >= 0.5 else lo + 1
            return SpanType("cut", k, k, "linear", float(np.clip(1 - dissolve_fit, 0, 1)))
        return SpanType("dissolve", lo, hi, easing_of(alpha[lo:hi]),
                        float(np.clip((1 - dissolve_fit / 0.45) * 0.5 + 0.5 * mono, 0, 1)))
    if hi - lo <= 2:  # large single-step change that is no blend: a cut with motion
        k = int(np.argmax(np.diff(alpha))) + 1
        return SpanType("cut", k, k, "linear", 0.5)
    return None


# ---------------------------------------------------------------------------
# Shared streaming machinery
# ---------------------------------------------------------------------------


class _Streaming:
    """Rolling frame buffer + per-frame times; subclasses propose candidate spans."""

    detector_name = "base"

    def __init__(self, info: VideoInfo | None, frame_size: tuple[int, int], buffer_frames: int) -> None:
        self.frame_size = frame_size
        self.every_s = 0.0
        self.fps = float(info.frame_rate) if info is not None and info.frame_rate else 25.0
        self._buf: collections.deque = collections.deque(maxlen=buffer_frames)
        self._first_idx = 0  # frame index of self._buf[0]
        self.times: list[float] = []
        self.transitions: list[Transition] = []
        self._last_end = -1  # last frame index used by an accepted transition

    @property
    def n(self) -> int:
        return len(self.times)

    def _store(self, image: np.ndarray, t_s: float) -> int:
        if len(self._buf) == self._buf.maxlen:
            self._first_idx += 1
        self._buf.append(image)
        self.times.append(float(t_s))
        return self.n - 1

    def _frames(self, lo: int, hi: int) -> np.ndarray | None:
        """Frames lo..hi-1 (clamped to the clip) if still buffered."""
        lo, hi = max(0, lo), min(self.n, hi)
        if lo < self._first_idx or hi <= lo:
            return None
        return np.stack([self._buf[i - self._first_idx] for i in range(lo, hi)])

    def _time(self, k: int) -> float:
        if k < self.n:
            return self.times[k]
        return self.times[-1] + (k - self.n + 1) / self.fps

    def _type_region(self, lo: int, hi: int, confidence: float) -> None:
        """Type the candidate whose old shot ends at frame lo and new shot starts at hi."""
        lo = max(lo, self._last_end, 0)
        hi = min(hi, self.n - 1)
        if hi - lo < 1:
            return
        fr = self._frames(lo, hi + 1)
        if fr is None:
            return
        st = classify_span(fr)
        if st is None:
            return
        start, end = lo + st.start, lo + st.end
        conf = float(np.clip(confidence * (0.5 + 0.5 * st.score), 0, 1))
        self.transitions.append(Transition(self._time(start), self._time(end), st.type, round(conf, 3), st.easing))
        self._last_end = end

    def result(self, provider: str | None = None, **stats: Any) -> ShotResult:
        trs = sorted(self.transitions, key=lambda tr: tr.start_s)
        return ShotResult(trs, self.detector_name, provider, self.n, dict(stats))


# ---------------------------------------------------------------------------
# TransNetV2
# ---------------------------------------------------------------------------


class TransNetDetector(_Streaming):
    """TransNetV2 on 48x27 frames; ``batch`` windows of 100 frames per session.run.

    ``threshold``: probability (0..1) over which a frame counts as transition (either head).
    ``max_span_s``: longest gradual transition kept in the buffer (seconds).
    """

    detector_name = "transnetv2-onnx"

    def __init__(self, info: VideoInfo | None, session: Any, *, batch: int = 2, threshold: float = 0.5,
                 max_span_s: float = 4.0) -> None:
        if batch < 1:
            raise ValueError("batch must be >= 1")
        if not 0 < threshold < 1:
            raise ValueError("threshold must be in (0, 1)")
        fps = float(info.frame_rate) if info is not None and info.frame_rate else 25.0
        self.max_span = max(10, int(round(max_span_s * fps)))
        buffer = transnet.CONTEXT + transnet.WINDOW + (batch + 1) * transnet.STEP + self.max_span + 16
        super().__init__(info, (transnet.WIDTH, transnet.HEIGHT), buffer)
        self.session = session
        self.batch = batch
        self.threshold = threshold
        self._next_window = 0
        self.single: list[float] = []
        self.many: list[float] = []
        self._scan = 0  # next prediction index to scan for segments
        self._seg: tuple[int, int, float] | None = None  # open segment (first, last, peak)

    def push(self, image: np.ndarray, t_s: float) -> None:
        if image.shape[:2] != (transnet.HEIGHT, transnet.WIDTH):
            image = cv2.resize(image, (transnet.WIDTH, transnet.HEIGHT), interpolation=cv2.INTER_AREA)
        self._store(image, t_s)
        ready = (self.n - transnet.WINDOW + transnet.CONTEXT) // transnet.STEP + 1  # windows with all frames
        if ready - self._next_window >= self.batch:
            self._run(self._next_window + self.batch, final=False)

    def _window(self, i: int, final: bool) -> np.ndarray:
        lo = i * transnet.STEP - transnet.CONTEXT
        idx = np.clip(np.arange(lo, lo + transnet.WINDOW), 0, self.n - 1)
        base = self._first_idx
        return np.stack([self._buf[int(k) - base] for k in idx])

    def _run(self, upto: int, *, final: bool) -> None:
        wins = [self._window(i, final) for i in range(self._next_window, upto)]
        for j in range(0, len(wins), self.batch):
            s, m = self.session.run(["single", "many"], {"frames": np.stack(wins[j:j + self.batch])})
            c0, c1 = transnet.CONTEXT, transnet.CONTEXT + transnet.STEP
            self.single.extend(s[:, c0:c1].reshape(-1).tolist())
            self.many.extend(m[:, c0:c1].reshape(-1).tolist())
        self._next_window = upto
        self._segments(final)

    def _segments(self, final: bool) -> None:
        known = min(len(self.single), self.n)
        while self._scan < known:
            k = self._scan
            p = max(self.single[k], self.many[k])
            if p >= self.threshold:
                if self._seg is None:
                    self._seg = (k, k, p)
                else:
                    self._seg = (self._seg[0], k, max(self._seg[2], p))
                if self._seg[1] - self._seg[0] >= self.max_span:
                    self._close()
            elif self._seg is not None:
                self._close()
            self._scan += 1
        if final and self._seg is not None:
            self._close()

    def _close(self) -> None:
        first, last, peak = self._seg
        self._seg = None
        # single head marks the last frame of the old shot; many-hot covers the span
        self._type_region(first - 2, last + 3, peak)

    def finish(self) -> ShotResult:
        """Run the remaining windows (last frame repeated as padding) and type the spans."""
        if self.n:
            total = (self.n + transnet.STEP - 1) // transnet.STEP
            if total > self._next_window:
                self._run(total, final=True)
            else:
                self._segments(True)
        prov = models.session_provider(self.session)
        return self.result(prov, threshold=self.threshold)


# ---------------------------------------------------------------------------
# Classical fallback
# ---------------------------------------------------------------------------


class ClassicalDetector(_Streaming):
    """Content (adaptive HSV difference), gradual (long-range difference) and fade
    (mean luma to black/white) detectors on small frames; spans typed by classify_span.

    ``adaptive_threshold``: a cut needs its frame difference this many times the mean of
    its neighbours (PySceneDetect's AdaptiveDetector idea); ``min_content``: and at
    least this mean HSV difference (0..255). ``gradual_threshold``: mean luma
    difference (0..255) between frames ``k`` apart (k = 0.4 s) that opens a gradual span.
    """

    detector_name = "classical-content-fade-dissolve"

    def __init__(self, info: VideoInfo | None, *, width: int = 64, adaptive_threshold: float = 3.0,
                 min_content: float = 12.0, gradual_threshold: float = 22.0, max_span_s: float = 3.0) -> None:
        if adaptive_threshold <= 1 or min_content <= 0 or gradual_threshold <= 0:
            raise ValueError("thresholds must be positive (adaptive_threshold > 1)")
        if info is not None and info.width > 0:
            h = max(8, int(round(info.height * width / info.width)))
        else:
            h = int(round(width * 9 / 16))
        fps = float(info.frame_rate) if info is not None and info.frame_rate else 25.0
        self.k = max(3, int(round(0.4 * fps)))
        self.max_span = max(2 * self.k + 4, int(round(max_span_s * fps)))
        super().__init__(info, (width, h), self.max_span + 4 * self.k + 16)
        self.adaptive_threshold = adaptive_threshold
        self.min_content = min_content
        self.gradual_threshold = gradual_threshold
        self._hsv_prev: np.ndarray | None = None
        self._gray: collections.deque = collections.deque(maxlen=2 * self.k + 1)
        self.content: list[float] = []  # HSV difference to the previous frame (0..255)
        self.long: list[float] = []  # luma difference frame t-k vs t+k, at t (0..255)
        self.luma: list[float] = []
        self._cands: list[tuple[int, int, float]] = []  # (lo, hi, confidence)
        self._done = 0  # candidates before this frame index were already typed
        self._gopen: tuple[int, int, float] | None = None
        self._cut_scan = 0

    def push(self, image: np.ndarray, t_s: float) -> None:
        w, h = self.frame_size
        if image.shape[:2] != (h, w):
            image = cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA)
        k = self._store(image, t_s)
        hsv = cv2.cvtColor(image, cv2.COLOR_RGB2HSV).astype(np.int16)
        if self._hsv_prev is None:
            self.content.append(0.0)
        else:
            diff = np.abs(hsv - self._hsv_prev)
            diff[..., 0] = np.minimum(diff[..., 0], 180 - diff[..., 0]) * (255 / 90)  # hue is circular (0..179)
            self.content.append(float(diff.mean()))
        self._hsv_prev = hsv
        gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32)
        self.luma.append(float(gray.mean()))
        self._gray.append(gray)
        if len(self._gray) == self._gray.maxlen:
            self.long.append(float(np.abs(self._gray[-1] - self._gray[0]).mean()))  # centred at k - self.k
        self._detect(final=False)
        del k

    # cuts ---------------------------------------------------------------
    def _cut_at(self, t: int) -> float | None:
        c = self.content
        if t < 1 or t + 2 >= len(c):
            return None
        nb = [c[j] for j in (t - 2, t - 1, t + 1, t + 2) if 1 <= j < len(c)]
        ref = max(float(np.mean(nb)), 1.0)
        if c[t] >= self.min_content and c[t] / ref >= self.adaptive_threshold:
            return float(np.clip((c[t] / ref - 1) / (2 * self.adaptive_threshold), 0, 1))
        return None

    def _detect(self, final: bool) -> None:
        # cuts need 2 frames of look-ahead
        limit = len(self.content) - (0 if final else 2)
        while self._cut_scan < limit:
            t = self._cut_scan
            conf = self._cut_at(t)
            if conf is not None:
                self._cands.append((t - 1, t, conf))
            self._cut_scan += 1
        # gradual: long-range difference high while no single step explains it
        g = self.long
        while len(g) > 0 and getattr(self, "_gscan", 0) < len(g):
            i = self._gscan = getattr(self, "_gscan", 0)
            v = g[i]
            centre = i + self.k
            if v >= self.gradual_threshold:
                if self._gopen is None:
                    self._gopen = (centre, centre, v)
                else:
                    self._gopen = (self._gopen[0], centre, max(self._gopen[2], v))
            elif self._gopen is not None:
                a, b, peak = self._gopen
                self._cands.append((a - self.k, b + self.k, float(np.clip(peak / 60, 0.3, 1))))
                self._gopen = None
            self._gscan = i + 1
        if final and self._gopen is not None:
            a, b, peak = self._gopen
            self._cands.append((a - self.k, b + self.k, float(np.clip(peak / 60, 0.3, 1))))
            self._gopen = None
        # fades at the very start/end are seen by the luma track in _flush
        self._flush(final)

    def _flush(self, final: bool) -> None:
        """Type candidates whose regions are complete (merged when they overlap)."""
        horizon = self.n if final else self.n - 2 * self.k - 3
        if self._gopen is not None:
            horizon = min(horizon, self._gopen[0] - self.k - 1)
        ready = sorted(c for c in self._cands if c[1] < horizon or final)
        if not ready:
            return
        self._cands = [c for c in self._cands if not (c[1] < horizon or final)]
        groups: list[list[tuple[int, int, float]]] = []
        for c in ready:
            if groups and c[0] <= max(x[1] for x in groups[-1]):
                groups[-1].append(c)
            else:
                groups.append([c])
        for grp in groups:
            lo = min(x[0] for x in grp)
            hi = max(x[1] for x in grp)
            conf = max(x[2] for x in grp)
            cuts = [x for x in grp if x[1] - x[0] == 1]
            if cuts and len(grp) > 1:
                # a cut inside a gradual region: type the regions on either side of it separately
                before = len(self.transitions)
                for c in sorted(cuts):
                    self._type_region(c[0], c[1], c[2])
                if len(self.transitions) > before:
                    continue
            self._type_region(lo, hi, conf)

    def finish(self) -> ShotResult:
        """Close open spans, add fades at the clip's ends, return the transitions."""
        self._detect(final=True)
        self._edge_fades()
        return self.result(None, k=self.k)

    def _edge_fades(self) -> None:
        """Fade-in from / fade-out to black or white at the clip's ends (luma track only)."""
        if self.n < 4:
            return
        L = np.asarray(self.luma)
        for end in (True,):
            if not end:
                continue
            fr = self._frames(self.n - self.max_span, self.n)
            if fr is None:
                continue
            g = fr.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)
            mean = g.reshape(len(g), -1).mean(1)
            std = g.reshape(len(g), -1).std(1)
            flat = ((mean < 24) | (mean > 232)) & (std < 14)
            if not flat[-1] or flat[0]:
                continue
            first = int(np.nonzero(~flat)[0][-1]) + 1  # first flat frame of the tail
            level = 0.0 if mean[first] < 128 else 255.0
            base = self.n - len(g)
            start = first
            while start > 0 and abs(mean[start - 1] - level) > abs(mean[start] - level) + 0.5:
                start -= 1
            if first - start < 2:
                continue
            s_idx, e_idx = base + start, base + first
            if any(tr.end_s >= self._time(s_idx) - 1e-6 for tr in self.transitions[-1:]):
                continue
            prog = 1 - np.abs(mean[start:first] - level) / (abs(mean[max(0, start - 1)] - level) + 1e-6)
            self.transitions.append(Transition(self._time(s_idx), self._time(e_idx), "fade", 0.8,
                                               easing_of(prog[1:] if len(prog) > 1 else prog)))
        del L


# ---------------------------------------------------------------------------
# Factory and Style DNA fields
# ---------------------------------------------------------------------------


def make_detector(info: VideoInfo | None, *, use_model: bool = True, batch: int = 2) -> TransNetDetector | ClassicalDetector:
    """The TransNetV2 detector when the model is prepared (and ``use_model``), else the
    classical fallback. On the CPU provider the int8 graph is used when prepared."""
    if use_model:
        sess = transnet_session()
        if sess is not None:
            return TransNetDetector(info, sess, batch=batch)
    return ClassicalDetector(info)


def transnet_session() -> Any:
    """The shared TransNetV2 session (None when the model is not prepared)."""
    return models.session("transnetv2")


def _ms(x: float) -> int:
    return int(round(x * 1000))


def shot_fields(result: ShotResult, duration_s: float) -> dict[str, Any]:
    """Style DNA fields ``shots``, ``transitions``, ``pacing`` (without
    ``cuts_on_beat_ratio``), ``cut_frequency``, ``primary_transition``,
    ``secondary_transition`` (STYLE_DNA.md), times in integer milliseconds."""
    if duration_s is None or duration_s < 0:
        raise ValueError("duration_s must be >= 0")
    shots = result.shots_s(duration_s)
    lengths = [_ms(b) - _ms(a) for a, b in shots]
    pacing: dict[str, Any] = {"shot_count": len(shots)}
    if lengths:
        pacing.update(mean_shot_ms=int(round(statistics.fmean(lengths))),
                      median_shot_ms=int(round(statistics.median(lengths))),
                      std_shot_ms=int(round(statistics.pstdev(lengths))),
                      min_shot_ms=min(lengths), max_shot_ms=max(lengths))
    else:
        pacing.update(mean_shot_ms=None, median_shot_ms=None, std_shot_ms=None, min_shot_ms=None, max_shot_ms=None)
    trs = [tr for tr in result.transitions if tr.start_s <= duration_s + 1e-6]
    by_type: dict[str, list[Transition]] = {}
    for tr in trs:
        by_type.setdefault(tr.type, []).append(tr)
    order = sorted(by_type, key=lambda k: (-len(by_type[k]), -sum(t.confidence for t in by_type[k]), TYPES.index(k)))

    def summary(kind: str) -> dict[str, Any]:
        items = by_type[kind]
        if kind == "cut":
            return {"type": "cut", "duration_ms": 0, "easing": "linear"}
        dur = int(round(statistics.median(_ms(t.end_s) - _ms(t.start_s) for t in items)))
        counts = collections.Counter(t.easing for t in items)
        easing = max(EASINGS, key=lambda e: (counts.get(e, 0), -EASINGS.index(e)))
        return {"type": kind, "duration_ms": dur, "easing": easing}

    return {
        "shots": [{"start_ms": _ms(a), "end_ms": _ms(b)} for a, b in shots],
        "transitions": [{"start_ms": _ms(t.start_s), "end_ms": _ms(t.end_s), "type": t.type,
                         "confidence": round(float(t.confidence), 3)} for t in trs],
        "pacing": pacing,
        "cut_frequency": round(len(trs) / (duration_s / 60.0), 3) if duration_s > 0 else None,
        "primary_transition": summary(order[0]) if order else None,
        "secondary_transition": summary(order[1]) if len(order) > 1 else None,
    }


def detect(path: str, *, use_model: bool = True, info: VideoInfo | None = None, control: Any = None) -> ShotResult:
    """Convenience: probe, pump every frame of ``path`` through one detector, finish."""
    from .media import FramePump, probe

    info = info or probe(path)
    det = make_detector(info, use_model=use_model)
    FramePump(path, [det], info=info).run(control)
    return det.finish()


def iter_types() -> Iterable[str]:
    return iter(TYPES)
