"""Shot boundaries and transitions of a video (the Style DNA's shots/transitions/pacing).

Two detectors with one interface, both :class:`~clipzy.engine.media.FramePump` consumers
with ``finish() -> ShotResult``:

- :class:`TransNetDetector` runs TransNetV2 (ONNX, see :mod:`clipzy.engine.transnet`) on
  48x27 frames in 100-frame windows as frames arrive (several windows per
  ``session.run``; the int8 graph on CPU, fp32 on CUDA) and keeps only a rolling buffer
  of frames. TransNetV2 does not see wipes, so a long-range luma difference on the same
  frames proposes extra spans that are kept only when typed as wipes;
- :class:`ClassicalDetector` is the fallback when the model is not prepared: an adaptive
  HSV content detector for cuts, a long-range difference detector for gradual
  transitions, and a fade detector (frames near black/white and the luma ramps around
  them); it keeps only boundaries whose two sides differ in colour.

Every candidate span is then typed by :func:`classify_span` from the frames themselves:
``fade`` when it passes through a near-black/white frame, ``cut`` when the blend weight
of the two sides jumps between two frames, ``wipe`` when a straight moving edge with
one shot on each side explains the frames far better than a global blend, else
``dissolve``. The measured progress curve (blend weight, wiped share, fade level) gives
the easing.

Times are float seconds; a cut has ``start_s == end_s`` = time of the first frame of
the new shot; a gradual transition spans from its first changed frame to the first
frame fully in the new shot (``end_s``).
"""
from __future__ import annotations

import collections
import statistics
from dataclasses import dataclass, field
from typing import Any

import cv2
import numpy as np

from .. import models
from ..models import transnet
from ..media import VideoInfo

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


def _hist_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Bhattacharyya distance (0..1) of the HSV hue/saturation histograms of two RGB frames."""
    hs = []
    for img in (a, b):
        hsv = cv2.cvtColor(np.ascontiguousarray(img), cv2.COLOR_RGB2HSV)
        h = cv2.calcHist([hsv], [0, 1, 2], None, [12, 4, 4], [0, 180, 0, 256, 0, 256])
        hs.append(cv2.normalize(h, h).astype(np.float32))
    return float(cv2.compareHist(hs[0], hs[1], cv2.HISTCMP_BHATTACHARYYA))


@dataclass(frozen=True)
class SpanType:
    """Result of :func:`classify_span`: frame indices relative to the frames given."""

    type: str
    start: int  # first transition frame (cut: first frame of the new shot)
    end: int  # first frame fully in the new shot (cut: == start)
    easing: str
    score: float  # 0..1 how clearly the frames show the type
    hist_distance: float = 0.0  # 0..1 colour difference of the two ends


def classify_span(frames: np.ndarray, *, span: tuple[int, int] | None = None, dark: float = 24.0,
                  bright: float = 232.0) -> SpanType | None:
    """Type the transition between ``frames[0]`` (old shot) and ``frames[-1]`` (new shot).

    ``frames``: uint8 RGB ``[n, h, w, 3]``, n >= 2, consecutive frames. ``span``: the
    frames (start, end) known to be in transition (e.g. from TransNetV2's many-hot head),
    else it is measured. ``dark``/``bright``: mean-luma levels (0..255) counted as
    black/white. Returns None when the ends do not differ (no transition to type).

    - fade: some inner frame is uniform near-black/white and the ends are not; its span
      is where the mean luma moves toward/away from that level;
    - cut: the blend weight of the ends jumps by >= 0.5 between two frames;
    - wipe: pixels show one shot or the other with a moving straight edge (a split of
      rows or columns separates them) on most transition frames;
    - dissolve: otherwise (a gradual change of the whole frame).
    Easing comes from the progress curve (blend weight, wiped area or fade level).
    """
    if frames.ndim != 4 or len(frames) < 2:
        raise ValueError("frames must be [n>=2, h, w, 3]")
    n = len(frames)
    if span is not None and not (0 < span[0] <= span[1] < n):
        raise ValueError("span must satisfy 0 < start <= end < len(frames)")
    g = _gray(frames)
    mean = g.reshape(n, -1).mean(1)
    std = g.reshape(n, -1).std(1)
    flat = ((mean < dark) | (mean > bright)) & (std < 14)

    inner = np.arange(1, n - 1)
    if len(inner) and flat[inner].any() and not (flat[0] and flat[-1]):
        k_flat = inner[flat[inner]]
        first, last = int(k_flat[0]), int(k_flat[-1])
        level = 0.0 if mean[first] < 128 else 255.0
        span_lo = first
        out_curve = np.array([])
        if not flat[0]:
            prog = 1 - np.abs(mean[:first + 1] - level) / (abs(mean[0] - level) + 1e-6)
            moving = np.nonzero(prog > 0.04)[0]
            span_lo = int(moving[0]) if len(moving) else first
            out_curve = prog[span_lo:first]
        in_curve = np.array([])
        if not flat[-1]:
            prog = np.abs(mean[last:] - level) / (abs(mean[-1] - level) + 1e-6)
            done = np.nonzero(prog > 0.96)[0]
            span_hi = last + (int(done[0]) if len(done) else len(prog) - 1)
            in_curve = prog[1:span_hi - last]
        else:  # fade to black/white: ends where the level is (all but) reached
            prog = 1 - np.abs(mean[first:] - level) / (abs(mean[0] - level) + 1e-6)
            done = np.nonzero(prog > 0.97)[0]
            span_hi = first + (int(done[0]) if len(done) else 0)
        curve = out_curve if len(out_curve) >= len(in_curve) else in_curve
        span_lo = max(1, span_lo)
        return SpanType("fade", span_lo, max(span_lo, span_hi), easing_of(curve), 1.0,
                        _hist_distance(frames[0], frames[-1]))

    a, b = g[0], g[-1]
    d = b - a
    dd = float(np.sum(d * d))
    rms_ab = float(np.sqrt(dd / d.size))
    if rms_ab < 4.0:
        return None
    hist = _hist_distance(frames[0], frames[-1])
    alpha = ((g - a).reshape(n, -1) @ d.reshape(-1)) / dd
    jumps = np.diff(alpha)
    j = int(np.argmax(jumps))
    if jumps[j] >= 0.5:
        return SpanType("cut", j + 1, j + 1, "linear", float(np.clip(jumps[j], 0, 1)), hist)
    if span is None:
        moving = np.nonzero((alpha[1:-1] > 0.1) & (alpha[1:-1] < 0.9))[0] + 1
        if len(moving) == 0:
            return SpanType("cut", j + 1, j + 1, "linear", float(np.clip(jumps[j], 0, 1)), hist)
        lo, hi = int(moving[0]), int(moving[-1]) + 1
    else:
        lo, hi = span
    if hi - lo < 1:
        return SpanType("cut", j + 1, j + 1, "linear", float(np.clip(jumps[j], 0, 1)), hist)

    # a wipe explains the transition frames far better than a global blend does
    blend = a[None] + alpha[:, None, None] * d[None]
    r_blend = ((g - blend) ** 2).reshape(n, -1).sum(1)
    r_wipe, w_prog = _wipe_fit(g, a, b)
    ratio = float(np.median(r_wipe[lo:hi] / np.maximum(r_blend[lo:hi], 1e-6)))
    if ratio < 0.6 and hi - lo >= 2:
        if span is None:
            moving = np.nonzero((w_prog[1:-1] > 0.02) & (w_prog[1:-1] < 0.98))[0] + 1
            if len(moving):
                lo, hi = int(moving[0]), int(moving[-1]) + 1
        return SpanType("wipe", lo, hi, easing_of(w_prog[lo:hi]), float(np.clip(1 - ratio, 0, 1)), hist)
    # dissolve: widen over the slow start/end of an eased blend (monotonic, up to half
    # the core length each side), then the progress of the blend weight inside the span
    lim = max(1, (hi - lo) // 2)
    lo0, hi0 = lo, hi
    while lo > 1 and lo0 - lo < lim and 0.015 < alpha[lo - 1] < alpha[lo] - 0.004:
        lo -= 1
    while hi < n - 1 and hi - hi0 < lim and alpha[hi - 1] + 0.004 < alpha[hi] < 0.985:
        hi += 1
    a0, a1 = alpha[lo - 1], alpha[min(hi, n - 1)]
    prog = (alpha[lo:hi] - a0) / (a1 - a0) if a1 - a0 > 0.2 else alpha[lo:hi]
    resid = float(np.mean(np.sqrt(((g[lo:hi] - blend[lo:hi]) ** 2).reshape(hi - lo, -1).mean(1)) / rms_ab))
    mono = float(np.mean(np.diff(alpha[lo - 1:min(hi, n - 1) + 1]) > -0.05))
    return SpanType("dissolve", lo, hi, easing_of(prog), float(np.clip(0.5 * mono + 0.5 * (1 - resid), 0, 1)), hist)


# ---------------------------------------------------------------------------
# Shared streaming machinery
# ---------------------------------------------------------------------------

_ANY = frozenset(TYPES)


class _Streaming:
    """Rolling frame buffer, per-frame times and a long-range change track.

    Subclasses add candidate regions ``(lo, hi, confidence, allowed types)`` where frame
    ``lo`` still shows the old shot and frame ``hi`` the new one; overlapping candidates
    are merged and typed by :func:`classify_span` once their frames are all decoded.
    """

    detector_name = "base"

    def __init__(self, info: VideoInfo | None, frame_size: tuple[int, int], *, max_span_s: float,
                 extra_buffer: int, long_threshold: float, long_types: frozenset[str]) -> None:
        self.frame_size = frame_size
        self.every_s = 0.0
        self.fps = float(info.frame_rate) if info is not None and info.frame_rate else 25.0
        self.k = max(3, int(round(0.4 * self.fps)))  # long-range distance (frames)
        self.max_span = max(2 * self.k + 4, int(round(max_span_s * self.fps)))
        self._buf: collections.deque = collections.deque(maxlen=self.max_span + 4 * self.k + 16 + extra_buffer)
        self._first_idx = 0  # frame index of self._buf[0]
        self.times: list[float] = []
        self.transitions: list[Transition] = []
        self._last_end = 0  # last frame index used by an accepted transition
        self._cands: list[tuple] = []  # (lo, hi, confidence, allowed types[, long-range only])
        self.long_threshold = long_threshold
        self.long_types = long_types
        self._gray: collections.deque = collections.deque(maxlen=2 * self.k + 1)
        self.long: list[float] = []  # mean |luma(t+k) - luma(t-k)| (0..255), index t-k
        self._lopen: tuple[int, int, float] | None = None
        self._long_cands: list[tuple] = []
        # long-range candidates may merge with the others (True) or only fill gaps (False)
        self.long_merges = True
        self._model_spans: list[tuple[int, int]] = []  # regions the subclass proposed (bounded by #transitions)
        self.flat: list[bool] = []  # frame is near-black/white and uniform
        self.mean_luma: list[float] = []  # mean luma per frame (0..255)
        self._spans: list[tuple[int, int]] = []  # frame spans of accepted transitions

    @property
    def n(self) -> int:
        return len(self.times)

    def _store(self, image: np.ndarray, t_s: float) -> int:
        if len(self._buf) == self._buf.maxlen:
            self._first_idx += 1
        self._buf.append(image)
        self.times.append(float(t_s))
        gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32)
        m, s = float(gray.mean()), float(gray.std())
        self.flat.append((m < 24 or m > 232) and s < 14)
        self.mean_luma.append(m)
        self._gray.append(gray)
        if len(self._gray) == self._gray.maxlen:
            self.long.append(float(np.abs(self._gray[-1] - self._gray[0]).mean()))
            self._long_scan(len(self.long) - 1)
        return self.n - 1

    def _long_scan(self, i: int) -> None:
        """Track runs of the long-range difference (index i is centred on frame i + k)."""
        v = self.long[i]
        if v >= self.long_threshold:
            self._lopen = (self._lopen[0] if self._lopen is not None else i, i, 0.0)
        elif self._lopen is not None:
            self._close_long()

    def _close_long(self) -> None:
        """Split a run of high long-range difference at its local peaks; each peak gives
        the region between its half-maximum crossings (which holds a transition of any
        length: shorter than 2k frames → the crossings are 2k apart around it; longer →
        they sit at its ends), widened by 2 frames."""
        a, b, _ = self._lopen
        self._lopen = None
        d = np.asarray(self.long[a:b + 1])
        if len(d) < 3:
            d = np.pad(d, 1)
            a -= 1
        peaks = [j for j in range(len(d)) if d[j] >= self.long_threshold
                 and d[j] >= (d[j - 1] if j > 0 else -1) and d[j] > (d[j + 1] if j + 1 < len(d) else -1)]
        # keep peaks that stand out from the valley towards the previous kept peak
        kept: list[int] = []
        for j in peaks:
            if kept and d[kept[-1]:j + 1].min() > 0.9 * min(d[kept[-1]], d[j]):
                if d[j] > d[kept[-1]]:
                    kept[-1] = j
                continue
            kept.append(j)
        for j in kept:
            half = 0.5 * d[j]
            lo = j
            while lo > 0 and d[lo - 1] >= half and d[lo - 1] <= d[lo] + 1.0:
                lo -= 1
            hi = j
            while hi < len(d) - 1 and d[hi + 1] >= half and d[hi + 1] <= d[hi] + 1.0:
                hi += 1
            c_lo, c_hi = a + lo + self.k, a + hi + self.k  # centred frame indices
            conf = float(np.clip(d[j] / 60, 0.3, 1))
            self._long_cands.append((c_lo - 2, c_hi + 2, conf, self.long_types, True))

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

    def _extend_flat(self, lo: int, hi: int) -> tuple[int, int]:
        """Grow a region that holds or touches near-black/white frames over the whole
        flat run and the luma ramps into and out of it (a fade through black/white)."""
        lo, hi = max(0, lo), min(self.n - 1, hi)
        flats = [j for j in range(max(0, lo - 1), min(self.n, hi + 2)) if self.flat[j]]
        if not flats:
            return lo, hi
        first, last = flats[0], flats[-1]
        while first > 0 and self.flat[first - 1]:
            first -= 1
        while last < self.n - 1 and self.flat[last + 1]:
            last += 1
        m = self.mean_luma
        level = 0.0 if m[first] < 128 else 255.0
        j = first
        while j > 0 and first - j < self.max_span and abs(m[j - 1] - level) > abs(m[j] - level) + 0.3:
            j -= 1
        k = last
        while k < self.n - 1 and k - last < self.max_span and abs(m[k + 1] - level) > abs(m[k] - level) + 0.3:
            k += 1
        return min(lo, max(0, j - 1)), max(hi, min(self.n - 1, k + 1))

    def _flush(self, horizon: int, final: bool = False) -> None:
        """Type merged candidates whose regions end before frame ``horizon``."""
        if self._lopen is not None:
            horizon = min(horizon, self._lopen[0] - self.k - 1)
        if final:
            horizon = self.n + 10 ** 9
        if self._long_cands:
            done = [c for c in self._long_cands if c[1] < horizon]
            self._long_cands = [c for c in self._long_cands if c[1] >= horizon]
            for c in done:
                if self.long_merges or not any(x[0] <= c[1] and c[0] <= x[1] for x in self._model_spans):
                    self._cands.append(c)
        ready = sorted(c for c in self._cands if c[1] < horizon)
        if not ready:
            return
        self._cands = [c for c in self._cands if c[1] >= horizon]
        groups: list[list[tuple]] = []
        for c in ready:
            lo, hi = self._extend_flat(c[0], c[1])
            c = (lo, hi, c[2], c[3], len(c) > 4 and c[4])
            if groups and c[0] <= max(x[1] for x in groups[-1]):
                groups[-1].append(c)
            else:
                groups.append([c])
        for grp in groups:
            lo = min(x[0] for x in grp)
            hi = max(x[1] for x in grp)
            allowed = frozenset().union(*(x[3] for x in grp))
            conf = max(x[2] for x in grp)
            long_only = all(x[4] if len(x) > 4 else False for x in grp)
            if long_only and any(s_ - 2 <= hi and lo <= e_ + 2 for s_, e_ in self._spans):
                continue  # the long-range echo of a transition already typed
            cuts = [x for x in grp if x[1] - x[0] == 1]
            if cuts and len(grp) > 1 and not any(self.flat[lo:hi + 1]):
                # sharp steps inside a wider region: try them as cuts first
                before = len(self.transitions)
                for c in sorted(cuts):
                    self._type_region(c[0] - 1, c[1] + 1, c[2], c[3])
                if len(self.transitions) > before:
                    continue
            self._type_region(lo, hi, conf, allowed)

    def _type_region(self, lo: int, hi: int, confidence: float, allowed: frozenset[str] = _ANY) -> None:
        """Type the candidate whose old shot shows at frame lo and new shot at frame hi."""
        lo = max(lo, self._last_end, 0)
        hi = min(hi, self.n - 1)
        if hi - lo < 1:
            return
        fr = self._frames(lo, hi + 1)
        if fr is None:
            return
        st = classify_span(fr)
        if st is None or st.type not in allowed or not self._accept(st, confidence):
            return
        start, end = lo + st.start, lo + st.end
        conf = float(np.clip(confidence * (0.5 + 0.5 * st.score), 0, 1))
        self.transitions.append(Transition(self._time(start), self._time(end), st.type, round(conf, 3), st.easing))
        self._spans.append((start, end))
        self._last_end = end

    def _accept(self, st: SpanType, confidence: float) -> bool:
        """Hook: whether a typed span is kept (the fallback filters weak ones)."""
        return True

    def _finish_common(self) -> None:
        if self._lopen is not None:
            self._close_long()
        self._flush(0, final=True)

    def result(self, provider: str | None = None, **stats: Any) -> ShotResult:
        trs = sorted(self.transitions, key=lambda tr: tr.start_s)
        return ShotResult(trs, self.detector_name, provider, self.n, dict(stats))


# ---------------------------------------------------------------------------
# TransNetV2
# ---------------------------------------------------------------------------


class TransNetDetector(_Streaming):
    """TransNetV2 on 48x27 frames; ``batch`` windows of 100 frames per session.run.

    TransNetV2 proposes cuts and dissolve/fade spans (either head over ``threshold``,
    0..1); it does not see wipes, so a long-range luma difference on the same frames
    proposes spans that are kept only when :func:`classify_span` types them as wipes.
    ``max_span_s``: longest transition kept in the buffer (seconds).
    """

    detector_name = "transnetv2-onnx"

    def __init__(self, info: VideoInfo | None, session: Any, *, batch: int = 2, threshold: float = 0.5,
                 max_span_s: float = 4.0, wipe_threshold: float = 22.0) -> None:
        if batch < 1:
            raise ValueError("batch must be >= 1")
        if not 0 < threshold < 1:
            raise ValueError("threshold must be in (0, 1)")
        extra = transnet.CONTEXT + transnet.WINDOW + (batch + 1) * transnet.STEP
        super().__init__(info, (transnet.WIDTH, transnet.HEIGHT), max_span_s=max_span_s, extra_buffer=extra,
                         long_threshold=wipe_threshold, long_types=frozenset({"wipe"}))
        self.long_merges = False
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

    def _window(self, i: int) -> np.ndarray:
        lo = i * transnet.STEP - transnet.CONTEXT
        idx = np.clip(np.arange(lo, lo + transnet.WINDOW), 0, self.n - 1)
        return np.stack([self._buf[int(k) - self._first_idx] for k in idx])

    def _run(self, upto: int, *, final: bool) -> None:
        wins = [self._window(i) for i in range(self._next_window, upto)]
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
            if p >= self.threshold or (self._seg is not None and self.flat[k]):
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
        horizon = self._seg[0] if self._seg is not None else self._scan
        self._flush(horizon - 2 * self.k - 2, final=False)

    def _close(self) -> None:
        first, last, peak = self._seg
        self._seg = None
        # the single head marks the last frame of the old shot; many-hot covers the span
        self._cands.append((first - 2, last + 3, peak, _ANY))
        self._model_spans.append((first - 2, last + 3))

    def finish(self) -> ShotResult:
        """Run the remaining windows (last frame repeated as padding) and type the spans."""
        if self.n:
            total = (self.n + transnet.STEP - 1) // transnet.STEP
            if total > self._next_window:
                self._run(total, final=True)
            else:
                self._segments(True)
            self._finish_common()
        prov = models.session_provider(self.session)
        return self.result(prov, threshold=self.threshold)


# ---------------------------------------------------------------------------
# Classical fallback
# ---------------------------------------------------------------------------


class ClassicalDetector(_Streaming):
    """Content (adaptive HSV difference), gradual (long-range luma difference) and fade
    (near-black/white frames) detectors on small frames; spans typed by classify_span.

    ``adaptive_threshold``: a cut needs its frame difference this many times the mean of
    its neighbours (PySceneDetect's AdaptiveDetector idea); ``min_content``: and at
    least this mean HSV difference (0..255). ``gradual_threshold``: mean luma
    difference (0..255) between frames 0.8 s apart that opens a gradual span.
    ``min_hist_distance``: colour-histogram distance (0..1) the two sides of a cut,
    dissolve or wipe must have (rejects camera motion; misses cuts between shots of
    very similar colour).
    """

    detector_name = "classical-content-fade-dissolve"

    def __init__(self, info: VideoInfo | None, *, width: int = 64, adaptive_threshold: float = 3.0,
                 min_content: float = 12.0, gradual_threshold: float = 22.0, min_hist_distance: float = 0.45,
                 max_span_s: float = 3.0) -> None:
        if adaptive_threshold <= 1 or min_content <= 0 or gradual_threshold <= 0 or width < 16:
            raise ValueError("bad thresholds (adaptive_threshold > 1, others > 0, width >= 16)")
        if not 0 <= min_hist_distance < 1:
            raise ValueError("min_hist_distance must be in [0, 1)")
        self.min_hist_distance = min_hist_distance
        if info is not None and info.width > 0:
            h = max(8, int(round(info.height * width / info.width)))
        else:
            h = int(round(width * 9 / 16))
        super().__init__(info, (width, h), max_span_s=max_span_s, extra_buffer=8,
                         long_threshold=gradual_threshold, long_types=_ANY)
        self.adaptive_threshold = adaptive_threshold
        self.min_content = min_content
        self._hsv_prev: np.ndarray | None = None
        self.content: list[float] = []  # HSV difference to the previous frame (0..255)
        self._cut_scan = 0

    def push(self, image: np.ndarray, t_s: float) -> None:
        w, h = self.frame_size
        if image.shape[:2] != (h, w):
            image = cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA)
        self._store(image, t_s)
        hsv = cv2.cvtColor(image, cv2.COLOR_RGB2HSV).astype(np.int16)
        if self._hsv_prev is None:
            self.content.append(0.0)
        else:
            diff = np.abs(hsv - self._hsv_prev).astype(np.float32)
            diff[..., 0] = np.minimum(diff[..., 0], 180 - diff[..., 0]) * (255 / 90)  # hue is circular (0..179)
            self.content.append(float(diff.mean()))
        self._hsv_prev = hsv
        self._detect(final=False)

    def _accept(self, st: SpanType, confidence: float) -> bool:
        """Without a learned model, camera motion is the main source of false
        boundaries: keep a cut/dissolve/wipe only when the two sides differ in colour
        (HSV histogram Bhattacharyya distance >= ``min_hist_distance``)."""
        return st.type == "fade" or st.hist_distance >= self.min_hist_distance

    def _cut_at(self, t: int) -> float | None:
        c = self.content
        if t < 1:
            return None
        nb = [c[j] for j in (t - 2, t - 1, t + 1, t + 2) if 1 <= j < len(c)]
        ref = max(float(np.mean(nb)), 1.0) if nb else 1.0
        if c[t] >= self.min_content and c[t] / ref >= self.adaptive_threshold:
            return float(np.clip((c[t] / ref - 1) / (2 * self.adaptive_threshold), 0, 1))
        return None

    def _detect(self, final: bool) -> None:
        limit = len(self.content) - (0 if final else 2)  # cuts look 2 frames ahead
        while self._cut_scan < limit:
            t = self._cut_scan
            conf = self._cut_at(t)
            if conf is not None:
                self._cands.append((t - 1, t, conf, _ANY))
            self._cut_scan += 1
        self._flush(self.n - 2 * self.k - 3, final=False)

    def finish(self) -> ShotResult:
        """Close open spans and return the transitions."""
        if self.n:
            self._detect(final=True)
            self._finish_common()
        return self.result(None, k=self.k)


# ---------------------------------------------------------------------------
# Factory and Style DNA fields
# ---------------------------------------------------------------------------


def make_detector(info: VideoInfo | None, *, use_model: bool = True, batch: int = 2) -> TransNetDetector | ClassicalDetector:
    """The TransNetV2 detector when the model is prepared (and ``use_model``), else the
    classical fallback. On the CPU provider the int8 graph is used when prepared
    (:func:`transnet_session`). ``batch``: 100-frame windows per session.run."""
    if use_model:
        sess = transnet_session()
        if sess is not None:
            return TransNetDetector(info, sess, batch=batch)
    return ClassicalDetector(info)


INT8_FILE = "transnetv2.int8.onnx"


def transnet_session() -> Any:
    """The shared TransNetV2 session, None when the model is not prepared.

    On the CPU provider the static int8 graph (``transnetv2.int8.onnx``, written by
    ``models.prepare``) is used when present: same quality on the evaluation set at about
    twice the speed (bench/shots.py); CUDA uses the fp32 graph.
    """
    if models.model_file("transnetv2").is_file() and models.providers()[0] == "CPUExecutionProvider":
        int8 = models.derived_file("transnetv2", INT8_FILE)
        if int8 is not None:
            return models.session("transnetv2", path=int8)
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
    from ..media import FramePump, probe

    info = info or probe(path)
    det = make_detector(info, use_model=use_model)
    FramePump(path, [det], info=info).run(control)
    return det.finish()
