"""Shot boundaries and transitions of a video (the Style DNA's shots/transitions/pacing).

Two detectors with one interface, both :class:`~clipzy.engine.media.FramePump` consumers
with ``finish() -> ShotResult``:

- :class:`TransNetDetector` runs TransNetV2 (ONNX, see :mod:`clipzy.engine.models.transnet`) on
  48x27 frames in 100-frame windows as frames arrive (several windows per
  ``session.run``; the int8 graph on CPU, fp32 on CUDA) and keeps only a rolling buffer
  of frames. In the ``cascade`` mode (the default, :func:`shot_mode`) a cheap gate
  (:class:`CascadeGate`) looks at every frame and the network runs only on the windows
  that may hold a boundary; ``full`` runs it on every window. TransNetV2 does not see
  wipes, so a long-range luma difference on the same frames proposes extra spans that
  are kept only when typed as wipes;
- :class:`ClassicalDetector` is the fallback when the model is not prepared: an adaptive
  HSV content detector for cuts, a long-range difference detector for gradual
  transitions, and a fade detector (frames near black/white and the luma ramps around
  them); it keeps only boundaries whose two sides differ in colour.

Every candidate span is then typed from the frames themselves by
:func:`clipzy.engine.analysis.transitions.classify_span` (fade, cut, wipe or dissolve, and
the easing of its measured progress curve). The Style DNA's shot fields are written from a
:class:`ShotResult` by :func:`clipzy.engine.dna.shot_fields`.

Times are float seconds; a cut has ``start_s == end_s`` = time of the first frame of
the new shot; a gradual transition spans from its first changed frame to the first
frame fully in the new shot (``end_s``).
"""
from __future__ import annotations

import collections
import os
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import cv2
import numpy as np

from ..media import VideoInfo
from ..models import ModelRegistry, session_provider, transnet
from ..terms import TRANSITION_TYPES
from .transitions import BRIGHT_LUMA, DARK_LUMA, FLAT_STD, SpanType, classify_span

LONG_RANGE_S = 0.4  # the long-range difference compares frames this far apart (seconds)
JUMP_MIN = 3.0  # frame-to-frame luma difference (0..255, 48×27) a jump needs ...
JUMP_RATIO = 6.0  # ... and this many times its neighbours' (TransNetDetector)
JUMP_FLOOR = 0.5  # neighbours' difference never counts as less than this (codec noise)

#: TransNetDetector modes: the network on every window, or only where the gate lets it.
SHOT_MODES = ("full", "cascade")
# The cascade's gate (CascadeGate); luma levels 0..255 on the 48x27 frames.
GATE_SCALES_S = (0.2, 0.4, 1.0)  # blend test: a frame against the frames this far either side (s)
GATE_NET = 6.0  # ... whose mean absolute difference is at least this
GATE_RESIDUAL = 0.3  # ... fits a blend of them within this share of that difference
GATE_RUN = 4  # ... on this many consecutive frames
GATE_CUT_STEP = 4.0  # cut test: a frame-to-frame mean step of at least this ...
GATE_CUT_RATIO = 2.0  # ... and this many times the largest step two frames either side
GATE_MARGIN = 8  # a window runs when a suspect frame lies within this many frames of its predicted part


@dataclass(frozen=True)
class Transition:
    """One shot boundary. Seconds; ``confidence`` 0..1; ``type`` and ``easing`` from :mod:`clipzy.engine.terms`."""

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
# Shared streaming machinery
# ---------------------------------------------------------------------------

_ANY = frozenset(TRANSITION_TYPES)
_CUT = frozenset({"cut"})


class Candidate(NamedTuple):
    """A region that may hold a transition: frame ``lo`` still shows the old shot, ``hi`` the new one."""

    lo: int
    hi: int
    confidence: float  # 0..1, from the detector that proposed it
    allowed: frozenset[str]  # transition types it may be typed as
    long_range_only: bool = False  # proposed by the long-range difference alone


def frame_rate_of(info: VideoInfo | None) -> float:
    """The video's frame rate in frames per second (25 when unknown)."""
    return float(info.frame_rate) if info is not None and info.frame_rate else 25.0


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
        self.fps = frame_rate_of(info)
        self.k = max(3, int(round(LONG_RANGE_S * self.fps)))  # long-range distance (frames)
        self.max_span = max(2 * self.k + 4, int(round(max_span_s * self.fps)))
        self._buf: collections.deque = collections.deque(maxlen=self.max_span + 4 * self.k + 16 + extra_buffer)
        self._first_idx = 0  # frame index of self._buf[0]
        self.times: list[float] = []
        self.transitions: list[Transition] = []
        self._last_end = 0  # last frame index used by an accepted transition
        self._cands: list[Candidate] = []
        self.long_threshold = long_threshold
        self.long_types = long_types
        self._gray: collections.deque = collections.deque(maxlen=2 * self.k + 1)
        self.long_range: list[float] = []  # mean |luma(t+k) - luma(t-k)| (0..255), index t-k
        self._lopen: tuple[int, int, float] | None = None
        self._long_cands: list[Candidate] = []
        # long-range candidates may merge with the others (True) or only fill gaps (False)
        self.long_merges = True
        self._model_spans: list[tuple[int, int]] = []  # regions the subclass proposed (bounded by #transitions)
        self.uniform: list[bool] = []  # frame is near-black/white and uniform
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
        self.uniform.append((m < DARK_LUMA or m > BRIGHT_LUMA) and s < FLAT_STD)
        self.mean_luma.append(m)
        self._gray.append(gray)
        if len(self._gray) == self._gray.maxlen:
            self.long_range.append(float(np.abs(self._gray[-1] - self._gray[0]).mean()))
            self._long_scan(len(self.long_range) - 1)
        return self.n - 1

    def _long_scan(self, i: int) -> None:
        """Track runs of the long-range difference (index i is centred on frame i + k)."""
        v = self.long_range[i]
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
        d = np.asarray(self.long_range[a:b + 1])
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
            self._long_cands.append(Candidate(c_lo - 2, c_hi + 2, conf, self.long_types, True))

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

    def _extend_uniform(self, lo: int, hi: int) -> tuple[int, int]:
        """Grow a region that holds or touches near-black/white frames over the whole
        flat run and the luma ramps into and out of it (a fade through black/white)."""
        lo, hi = max(0, lo), min(self.n - 1, hi)
        flats = [j for j in range(max(0, lo - 1), min(self.n, hi + 2)) if self.uniform[j]]
        if not flats:
            return lo, hi
        first, last = flats[0], flats[-1]
        while first > 0 and self.uniform[first - 1]:
            first -= 1
        while last < self.n - 1 and self.uniform[last + 1]:
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
            done = [c for c in self._long_cands if c.hi < horizon]
            self._long_cands = [c for c in self._long_cands if c.hi >= horizon]
            for c in done:
                if self.long_merges or not any(x[0] <= c.hi and c.lo <= x[1] for x in self._model_spans):
                    self._cands.append(c)
        ready = sorted(c for c in self._cands if c.hi < horizon)
        if not ready:
            return
        self._cands = [c for c in self._cands if c.hi >= horizon]
        groups: list[list[Candidate]] = []
        for c in ready:
            lo, hi = self._extend_uniform(c.lo, c.hi)
            c = c._replace(lo=lo, hi=hi)
            if groups and c.lo <= max(x.hi for x in groups[-1]):
                groups[-1].append(c)
            else:
                groups.append([c])
        for grp in groups:
            self._type_group(grp)

    def _type_group(self, grp: list[Candidate]) -> None:
        """Type one group of overlapping candidates (sharp steps inside it tried as cuts first)."""
        lo = min(x.lo for x in grp)
        hi = max(x.hi for x in grp)
        if all(x.long_range_only for x in grp) and any(s_ - 2 <= hi and lo <= e_ + 2 for s_, e_ in self._spans):
            return  # the long-range echo of a transition already typed
        cuts = [x for x in grp if x.hi - x.lo == 1]
        if cuts and len(grp) > 1 and not any(self.uniform[lo:hi + 1]):
            before = len(self.transitions)
            for c in sorted(cuts):
                self._type_region(c.lo - 1, c.hi + 1, c.confidence, c.allowed)
            if len(self.transitions) > before:
                return
        self._type_region(lo, hi, max(x.confidence for x in grp), frozenset().union(*(x.allowed for x in grp)))

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


def shot_mode() -> str:
    """``CLIPZY_SHOT_MODE``: ``full`` or ``cascade`` (default; see :class:`CascadeGate`)."""
    mode = os.environ.get("CLIPZY_SHOT_MODE", "").strip().lower() or "cascade"
    if mode not in SHOT_MODES:
        raise ValueError(f"CLIPZY_SHOT_MODE must be one of {', '.join(SHOT_MODES)}, got {mode!r}")
    return mode


class CascadeGate:
    """Which TransNetV2 windows may hold a boundary, from cheap features of every frame.

    A frame is *suspect* when

    - **cut test**: its mean luma step from the previous frame is at least
      :data:`GATE_CUT_STEP` and :data:`GATE_CUT_RATIO` × the largest step of the two frames
      either side (camera motion raises its neighbours too); or
    - **blend test**: it lies in a run of :data:`GATE_RUN` consecutive frames each of which,
      at some scale s of :data:`GATE_SCALES_S`, is a blend ``(1 − w)·A + w·B`` of the frames
      A and B s seconds before and after it (ends clamped to the clip) within
      :data:`GATE_RESIDUAL` of their mean difference, itself at least :data:`GATE_NET`.
      A dissolve or fade is such a blend at every scale however slowly it moves per frame
      (a 3 s dissolve between shots 30 levels apart still differs by 20 over the 1 s
      scale); a cut is one too (the middle frame is one of its ends); camera or subject
      motion is not (the middle frame is sharp, the blend of its ends a double image).

    Window i (predicting frames ``50 i`` … ``50 i + 49``) is *open* when a suspect frame lies
    within :data:`GATE_MARGIN` frames of that range. A frame's status is final once the
    frames the tests look at have arrived (the longest scale, plus a run in progress), so
    :meth:`decided_windows` lags the newest frame by about 1 s. Memory: a ring of
    ``2 × longest scale + 1`` grey frames, five steps and the open windows not yet taken.
    """

    def __init__(self, fps: float) -> None:
        self.scales = sorted({max(2, int(round(s * fps))) for s in GATE_SCALES_S})  # frames
        self._grey: collections.deque = collections.deque(maxlen=2 * self.scales[-1] + 1)
        self._steps: collections.deque = collections.deque(maxlen=5)
        self.n = 0  # frames pushed
        self._centre = 0  # next frame the blend test is due for
        self._cut_next = 1  # next frame the cut test is due for
        self._run = 0  # length of the blend run ending at the last tested frame
        self.open: set[int] = set()  # open window indices (the caller discards those it took)
        self._final = False

    @property
    def lag(self) -> int:
        """Frames between the newest frame and the last one whose status is final (at most)."""
        return self.scales[-1] + 2 * GATE_RUN

    def push(self, grey: np.ndarray, step: float) -> None:
        """Take the next frame's float32 luma (48x27) and its mean step from the previous one."""
        self._grey.append(grey)
        self._steps.append(float(step))
        self.n += 1
        self._scan(final=False)

    def finish(self) -> None:
        """Test the last frames (their later neighbours do not exist: ends clamped)."""
        self._scan(final=True)
        self._final = True

    def _scan(self, final: bool) -> None:
        cut_upto = self.n if final else self.n - 2
        while self._cut_next < cut_upto:
            if self._cut_at(self._cut_next):
                self._mark(self._cut_next)
            self._cut_next += 1
        blend_upto = self.n if final else self.n - self.scales[-1]
        while self._centre < blend_upto:
            c = self._centre
            self._run = self._run + 1 if self._blend_at(c) else 0
            if self._run >= GATE_RUN:
                for j in range(c - GATE_RUN + 1, c + 1):
                    self._mark(j)
            self._centre += 1

    def _cut_at(self, t: int) -> bool:
        """The cut test of frame t (its steps t−2 … t+2 are in the ring of steps)."""
        first = self.n - len(self._steps)
        step = self._steps[t - first]
        around = [self._steps[j - first] for j in (t - 2, t - 1, t + 1, t + 2) if 1 <= j < self.n and j >= first]
        return step >= GATE_CUT_STEP and step >= GATE_CUT_RATIO * max(around, default=0.0)

    def _blend_at(self, c: int) -> bool:
        """The blend test of frame c at each scale (class docstring)."""
        first = self.n - len(self._grey)
        x = self._grey[c - first]
        for s in self.scales:
            a = self._grey[max(0, c - s) - first]
            d = self._grey[min(self.n - 1, c + s) - first] - a
            net = float(np.abs(d).mean())
            if net < GATE_NET:
                continue
            w = float(np.clip(float(((x - a) * d).sum()) / float((d * d).sum()), 0.0, 1.0))
            if float(np.abs(x - a - w * d).mean()) <= GATE_RESIDUAL * net:
                return True
        return False

    def _mark(self, j: int) -> None:
        """Open every window whose predicted range lies within GATE_MARGIN frames of frame j."""
        lo = max(0, (j - GATE_MARGIN) // transnet.STEP)
        self.open.update(range(lo, (j + GATE_MARGIN) // transnet.STEP + 1))

    def decided_windows(self) -> int:
        """How many windows from the first are decided (open or not, for good)."""
        if self._final:
            return 1 << 62
        pending = self._run if self._run < GATE_RUN else 0  # a run that may still reach GATE_RUN
        known = min(self._cut_next, self._centre - pending)  # frames 0 … known − 1 are final
        return max(0, (known - GATE_MARGIN) // transnet.STEP)


class TransNetDetector(_Streaming):
    """TransNetV2 on 48x27 frames; ``batch`` windows of 100 frames per session.run.

    TransNetV2 proposes cuts and dissolve/fade spans (either head over ``threshold``,
    0..1); it does not see wipes, so a long-range luma difference on the same frames
    proposes spans that are kept only when :func:`classify_span` types them as wipes. Nor
    does it see every jump inside one take — a punch-in, or a jump cut in a static or slow
    scene — so a frame whose difference to the previous one is at least :data:`JUMP_MIN`
    grey levels and :data:`JUMP_RATIO` × that of its neighbours (two frames either side: a
    flash or a shaky camera raises them too) proposes a cut, kept when typed as one.
    ``max_span_s``: longest transition kept in the buffer (seconds). ``mode``: ``full``
    (the network on every window) or ``cascade`` (only on the windows :class:`CascadeGate`
    opens; the others predict 0); None: :func:`shot_mode`. An open window is the same
    window, with the same context, as in ``full``, so both modes agree wherever the gate
    opened.
    """

    detector_name = "transnetv2-onnx"

    def __init__(self, info: VideoInfo | None, session: Any, *, batch: int = 2, threshold: float = 0.5,
                 max_span_s: float = 4.0, wipe_threshold: float = 22.0, mode: str | None = None) -> None:
        if batch < 1:
            raise ValueError("batch must be >= 1")
        if not 0 < threshold < 1:
            raise ValueError("threshold must be in (0, 1)")
        self.mode = shot_mode() if mode is None else mode
        if self.mode not in SHOT_MODES:
            raise ValueError(f"mode must be one of {', '.join(SHOT_MODES)}, got {self.mode!r}")
        self._gate = CascadeGate(frame_rate_of(info)) if self.mode == "cascade" else None
        extra = transnet.CONTEXT + transnet.WINDOW + (batch + 1) * transnet.STEP
        extra += self._gate.lag + GATE_MARGIN if self._gate is not None else 0
        super().__init__(info, (transnet.WIDTH, transnet.HEIGHT), max_span_s=max_span_s, extra_buffer=extra,
                         long_threshold=wipe_threshold, long_types=frozenset({"wipe"}))
        self.long_merges = False
        self.session = session
        self.batch = batch
        self.threshold = threshold
        self._next_window = 0
        self.windows_run = 0  # windows the network ran on
        self.single: list[float] = []
        self.many: list[float] = []
        self._scan = 0  # next prediction index to scan for segments
        self._seg: tuple[int, int, float] | None = None  # open segment (first, last, peak)
        self.step: list[float] = []  # mean |luma(t) − luma(t−1)| (0..255) per frame
        self._prev_gray: np.ndarray | None = None
        self._jump_scan = 1

    def push(self, image: np.ndarray, t_s: float) -> None:
        if image.shape[:2] != (transnet.HEIGHT, transnet.WIDTH):
            image = cv2.resize(image, (transnet.WIDTH, transnet.HEIGHT), interpolation=cv2.INTER_AREA)
        self._store(image, t_s)
        gray = self._gray[-1]
        self.step.append(0.0 if self._prev_gray is None else float(np.abs(gray - self._prev_gray).mean()))
        self._prev_gray = gray
        if self._gate is not None:
            self._gate.push(gray, self.step[-1])
        self._jumps(final=False)
        ready = (self.n - transnet.WINDOW + transnet.CONTEXT) // transnet.STEP + 1  # windows with all frames
        if self._gate is not None:
            ready = min(ready, self._gate.decided_windows())
        if ready - self._next_window >= self.batch:
            self._run(self._next_window + self.batch, final=False)

    def _jumps(self, final: bool) -> None:
        """Propose a cut at every frame that jumps (class docstring); looks two frames ahead."""
        d = self.step
        limit = len(d) - (0 if final else 2)
        while self._jump_scan < limit:
            t = self._jump_scan
            nb = [d[j] for j in (t - 2, t - 1, t + 1, t + 2) if 1 <= j < len(d)]
            ref = max(float(np.mean(nb)) if nb else 0.0, JUMP_FLOOR)
            if d[t] >= JUMP_MIN and d[t] >= JUMP_RATIO * ref:
                self._cands.append(Candidate(t - 1, t, float(np.clip(d[t] / (4 * JUMP_MIN), 0.5, 1.0)), _CUT))
            self._jump_scan += 1

    def _window(self, i: int) -> np.ndarray:
        lo = i * transnet.STEP - transnet.CONTEXT
        idx = np.clip(np.arange(lo, lo + transnet.WINDOW), 0, self.n - 1)
        return np.stack([self._buf[int(k) - self._first_idx] for k in idx])

    def _run(self, upto: int, *, final: bool) -> None:
        """Predict windows ``_next_window`` … ``upto − 1`` (in cascade mode only the open ones run;
        the others predict 0) and scan the predictions for segments."""
        todo = [i for i in range(self._next_window, upto) if self._gate is None or i in self._gate.open]
        c0, c1 = transnet.CONTEXT, transnet.CONTEXT + transnet.STEP
        out: dict[int, tuple[np.ndarray, np.ndarray]] = {}
        for j in range(0, len(todo), self.batch):
            chunk = todo[j:j + self.batch]
            s, m = self.session.run(["single", "many"], {"frames": np.stack([self._window(i) for i in chunk])})
            out.update((i, (s[k, c0:c1], m[k, c0:c1])) for k, i in enumerate(chunk))
        none = np.zeros(transnet.STEP, np.float32)
        for i in range(self._next_window, upto):
            s_i, m_i = out.get(i, (none, none))
            self.single.extend(s_i.tolist())
            self.many.extend(m_i.tolist())
        if self._gate is not None:
            self._gate.open.difference_update(range(self._next_window, upto))
        self.windows_run += len(todo)
        self._next_window = upto
        self._segments(final)

    def _segments(self, final: bool) -> None:
        known = min(len(self.single), self.n)
        while self._scan < known:
            k = self._scan
            p = max(self.single[k], self.many[k])
            if p >= self.threshold or (self._seg is not None and self.uniform[k]):
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
        self._cands.append(Candidate(first - 2, last + 3, peak, _ANY))
        self._model_spans.append((first - 2, last + 3))

    def finish(self) -> ShotResult:
        """Run the remaining windows (last frame repeated as padding) and type the spans."""
        total = (self.n + transnet.STEP - 1) // transnet.STEP
        if self.n:
            self._jumps(final=True)
            if self._gate is not None:
                self._gate.finish()
            if total > self._next_window:
                self._run(total, final=True)
            else:
                self._segments(True)
            self._finish_common()
        prov = session_provider(self.session)
        return self.result(prov, threshold=self.threshold, mode=self.mode, windows=total, windows_run=self.windows_run)


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
                self._cands.append(Candidate(t - 1, t, conf, _ANY))
            self._cut_scan += 1
        self._flush(self.n - 2 * self.k - 3, final=False)

    def finish(self) -> ShotResult:
        """Close open spans and return the transitions."""
        if self.n:
            self._detect(final=True)
            self._finish_common()
        return self.result(None, k=self.k)


# ---------------------------------------------------------------------------
# Factory
# ---------------------------------------------------------------------------


def make_detector(info: VideoInfo | None, *, models: ModelRegistry | None = None, use_model: bool = True,
                  batch: int = 2, mode: str | None = None) -> TransNetDetector | ClassicalDetector:
    """The TransNetV2 detector when ``models`` holds it (and ``use_model``), else the
    classical fallback. On the CPU provider the int8 graph is used when prepared
    (:func:`transnet_session`). ``models`` None: :meth:`ModelRegistry.from_environ`.
    ``batch``: 100-frame windows per session.run; ``mode``: ``full`` or ``cascade``
    (None: :func:`shot_mode`, from ``CLIPZY_SHOT_MODE``)."""
    if use_model:
        sess = transnet_session(models or ModelRegistry.from_environ())
        if sess is not None:
            return TransNetDetector(info, sess, batch=batch, mode=mode)
    return ClassicalDetector(info)


INT8_FILE = "transnetv2.int8.onnx"


def transnet_session(models: ModelRegistry) -> Any:
    """The shared TransNetV2 session of ``models``, None when the model is not prepared.

    On the CPU provider the static int8 graph (``transnetv2.int8.onnx``, written by
    ``clipzy models prepare``) is used when present: same quality on the evaluation set at
    about twice the speed (bench/shots.py); CUDA uses the fp32 graph.
    """
    if models.is_available("transnetv2") and models.providers()[0] == "CPUExecutionProvider":
        int8 = models.derived_file("transnetv2", INT8_FILE)
        if int8 is not None:
            return models.session("transnetv2", path=int8)
    return models.session("transnetv2")
