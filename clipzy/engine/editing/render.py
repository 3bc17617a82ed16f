"""Render an edit plan to MP4 (PyAV + OpenCV + libavfilter; no per-pixel Python).

:func:`render` walks the plan's output frames in order (constant frame rate = the plan's):

* each segment's footage is decoded from ``footage_in`` (seek to the keyframe before it,
  then decode forward; footage time = ``footage_in`` + output time since ``output_in``, so
  1:1 speed; the shown footage frame is the last one whose timestamp is ≤ that time);
* the crop window is interpolated from the segment's keyframes, cut out of the decoded
  frame (a numpy view) and scaled to the output size with OpenCV (area filter when
  shrinking, bilinear when enlarging);
* the global LUT is applied by libavfilter's ``lut3d`` (:class:`clipzy.engine.editing.grade.LutFilter`,
  tetrahedral) — for long renders baked once through lut3d into a 2²⁴-entry table
  (:class:`~clipzy.engine.editing.grade.BakedLut`, bit-identical, one gather per frame); a segment whose grade is
  None (an identity LUT, ``color_strength`` 0) is not graded, so colours stay unchanged;
* a transition occupies the first frames of the segment it leads into; the outgoing picture
  is the previous segment continued past its out point (its own decoder, so no re-seek) for
  the segment's ``tail_s`` (footage left in its shot), then its last frame held.
  Progress p = (k + 1) / (d + 1) for frame k of d, shaped by the easing (``linear``,
  ``ease-in`` p², ``ease-out`` 1 − (1 − p)², ``ease-in-out`` smoothstep): ``dissolve`` =
  crossfade, ``fade`` = the outgoing picture fades to black over the first half and the
  incoming one from black over the second, ``wipe`` = a left-to-right edge; ``cut`` = none;
* video is H.264 (libx264, the plan's CRF and preset, High profile, yuv420p) and audio AAC
  48 kHz stereo (the soundtrack of :func:`clipzy.engine.editing.soundtrack.build_soundtrack`, fed in step
  with the video so the file is interleaved), in MP4 with ``movflags=+faststart``.

Three parts: :class:`FootageReader` (random access to a clip's frames), the compositor
(:class:`_SegmentSource` and :func:`_composite`: crop, scale, grade, transitions) and the
encoder (:class:`_Encoder`: H.264 video, AAC audio muxed in step). The file is written to
a hidden temporary file beside ``out_path`` (:func:`clipzy.engine.files.atomic_path`) and
renamed into place when complete; on cancellation, timeout or any error the partial file is removed.
``control.check()`` runs before every frame and ``control.progress`` after each one.
"""
from __future__ import annotations

import os
from fractions import Fraction
from typing import Iterator, Mapping, Sequence

import av
import cv2
import numpy as np

from ..control import Control, ensure
from ..errors import InvalidMediaError
from ..files import atomic_path
from ..media import VideoInfo, probe, rational
from ..terms import ease
from . import crop, grade
from .edit_plan import EditPlan, Segment

AUDIO_RATE = 48000
AUDIO_BITRATE = 192_000
SEEK_AHEAD_S = 1.5  # decode forward instead of seeking when the target is this close ahead, seconds
BAKE_PIXELS = 60_000_000  # output pixels × frames above which a LUT is baked into a table

Grader = grade.LutFilter | grade.BakedLut


class FootageReader:
    """Random access to a video's frames as upright RGB arrays (display orientation).

    ``frame_at(t_s)`` returns the frame shown at ``t_s`` seconds (from the first frame),
    decoding forward and seeking only when going back or far ahead. Past the end, the last
    frame is held.
    """

    def __init__(self, path: str | os.PathLike[str], info: VideoInfo) -> None:
        self.info = info
        try:
            self.container = av.open(os.fspath(path), metadata_errors="ignore")
        except Exception as exc:
            raise InvalidMediaError("the footage is not a readable media container") from exc
        self.stream = self.container.streams.video[0]
        self.stream.thread_type = "AUTO"
        tb = self.stream.time_base
        self.tb = float(tb) if tb else 1.0 / 90000
        self.start = float(self.stream.start_time * tb) if self.stream.start_time is not None and tb else 0.0
        self._it = None
        self._cur: av.VideoFrame | None = None
        self._cur_t = -1.0
        self._pending: av.VideoFrame | None = None
        self._eof = False
        self._cache: tuple[int, np.ndarray] | None = None
        self._serial = 0  # counts frames made current (cache key; ids of freed frames get reused)
        self._last_dt = 1.0 / info.frame_rate if info.frame_rate > 0 else 0.04

    def close(self) -> None:
        self.container.close()

    def _time(self, frame: av.VideoFrame) -> float:
        if frame.pts is None:
            return self._cur_t + self._last_dt
        return float(frame.pts) * self.tb - self.start

    def _seek(self, t_s: float) -> None:
        target = int(max(0.0, t_s + self.start) / self.tb)
        try:
            self.container.seek(target, stream=self.stream, backward=True, any_frame=False)
        except av.error.FFmpegError:
            self.container.seek(0, stream=self.stream, backward=True)
        self._it = self.container.decode(self.stream)
        self._cur, self._pending, self._cur_t, self._eof = None, None, -1.0, False

    def _next(self) -> av.VideoFrame | None:
        if self._eof or self._it is None:
            return None
        try:
            return next(self._it)
        except StopIteration:
            self._eof = True
            return None
        except av.error.FFmpegError:
            if self._cur is None:
                raise InvalidMediaError("the footage video stream cannot be decoded")
            self._eof = True  # damaged tail: hold the last good frame
            return None

    def frame_at(self, t_s: float) -> np.ndarray:
        """Upright uint8 RGB (height, width, 3) of the frame shown at ``t_s`` seconds."""
        eps = 1e-3
        if self._it is None or (self._cur is not None and t_s < self._cur_t - eps) or (self._cur is not None and t_s > self._cur_t + SEEK_AHEAD_S and not self._eof):
            self._seek(t_s)
        while True:
            if self._pending is None:
                self._pending = self._next()
            if self._pending is None:
                break
            pt = self._time(self._pending)
            if self._cur is None or pt <= t_s + eps:
                if self._cur is not None:
                    self._last_dt = max(1e-4, pt - self._cur_t)
                self._cur, self._cur_t, self._pending = self._pending, pt, None
                self._serial += 1
                continue
            break
        if self._cur is None:
            if t_s > 0:  # seeking past the end: fall back to the start and hold the last frame
                self._seek(0.0)
                return self.frame_at(max(0.0, self.info.duration_seconds - self._last_dt))
            raise InvalidMediaError("the footage has no decodable frames")
        key = self._serial
        if self._cache is None or self._cache[0] != key:
            arr = self._cur.to_ndarray(format="rgb24")
            rot = self.info.rotation
            if rot:
                arr = np.ascontiguousarray(np.rot90(arr, k=-rot // 90))
            self._cache = (key, arr)
        return self._cache[1]


def blend(a: np.ndarray, b: np.ndarray, kind: str, p: float) -> np.ndarray:
    """Frame ``p`` (0..1, already eased) of a transition from ``a`` to ``b`` (uint8 RGB)."""
    if kind == "dissolve":
        return cv2.addWeighted(a, 1.0 - p, b, p, 0.0)
    if kind == "fade":
        if p < 0.5:
            return cv2.convertScaleAbs(a, alpha=1.0 - 2.0 * p)
        return cv2.convertScaleAbs(b, alpha=2.0 * p - 1.0)
    if kind == "wipe":
        out = a.copy()
        x = int(round(p * a.shape[1]))
        out[:, :x] = b[:, :x]
        return out
    if kind == "cut":
        return b
    raise ValueError(f"unknown transition type {kind!r}")


class _SegmentSource:
    """Crop + scale + grade of one segment's footage at output size."""

    def __init__(self, seg: Segment, reader: FootageReader, size: tuple[int, int], grader: Grader | None) -> None:
        self.seg = seg
        self.reader = reader
        self.size = size
        self.grader = grader
        self.keys = [{"t_s": k.t_s, "x": k.x, "y": k.y, "width": k.width, "height": k.height} for k in seg.crop]

    def frame(self, dt_s: float) -> np.ndarray:
        """Output-size frame ``dt_s`` seconds after the segment's footage in point: uint8 RGB,
        or RGBA (alpha 255) when graded by a :class:`~clipzy.engine.editing.grade.BakedLut`."""
        img = self.reader.frame_at(self.seg.footage_in_s + dt_s)
        x, y, w, h = crop.crop_at(self.keys, dt_s)
        H, W = img.shape[:2]
        w, h = min(w, W), min(h, H)
        x, y = min(max(0, x), W - w), min(max(0, y), H - h)
        window = img[y: y + h, x: x + w]
        ow, oh = self.size
        interp = cv2.INTER_AREA if (w > ow or h > oh) else cv2.INTER_LINEAR
        out = window if (w, h) == (ow, oh) else cv2.resize(window, (ow, oh), interpolation=interp)
        if self.grader is not None:
            out = self.grader.apply(np.ascontiguousarray(out))
        return np.ascontiguousarray(out)


def _graders(plan: EditPlan, luts: Mapping[str, str | None]) -> dict[str, Grader | None]:
    """One grader per LUT name the segments use (None: not graded). Long renders bake the LUT
    once through lut3d for all 2^24 colours (~1 s), then one table gather per frame; short
    ones run lut3d per frame."""
    big = plan.output.width * plan.output.height * plan.output.frame_count > BAKE_PIXELS
    out: dict[str, Grader | None] = {}
    for name in {s.lut for s in plan.segments}:
        path = luts.get(name)
        out[name] = None if path is None else (grade.BakedLut(path) if big else
                                               grade.LutFilter(path, plan.output.width, plan.output.height))
    return out


def _composite(plan: EditPlan, readers: list[list[FootageReader]], graders: Mapping[str, Grader | None],
               control: Control) -> Iterator[np.ndarray]:
    """Every output frame in order (uint8 RGB or RGBA), transitions blended in.

    ``readers[clip]`` holds two readers per clip, alternated by segment so that the
    outgoing side of a transition keeps decoding forward without a seek."""
    size = (plan.output.width, plan.output.height)
    fps = plan.fps
    segs = plan.segments

    def source(i: int) -> _SegmentSource:
        seg = segs[i]
        return _SegmentSource(seg, readers[seg.clip][i % 2], size, graders[seg.lut])

    for i, seg in enumerate(segs):
        src = source(i)
        prev = source(i - 1) if i > 0 else None
        tr = seg.transition_in
        dtr = 0 if (prev is None or tr.type == "cut") else min(seg.frames, tr.frames)
        prev_len = segs[i - 1].frames / fps if i > 0 else 0.0
        tail = segs[i - 1].tail_s if i > 0 else 0.0
        for k in range(seg.frames):
            control.check()
            if k < dtr:
                # outgoing first (its decoder continues forward), then incoming
                a = prev.frame(min(prev_len + k / fps, prev_len + tail - 1.0 / fps)).copy()
                b = src.frame(k / fps)
                yield blend(a, b, tr.type, ease((k + 1) / (dtr + 1), tr.easing))
            else:
                yield src.frame(k / fps)


class _Encoder:
    """H.264 video and AAC stereo audio muxed into one MP4, the audio fed in step with the
    video so the file is interleaved."""

    def __init__(self, container: av.container.OutputContainer, plan: EditPlan, audio: np.ndarray) -> None:
        self.oc = container
        rate = rational(plan.fps)
        self.fps = plan.fps
        enc = plan.encoder
        self.vs = container.add_stream("libx264", rate=rate)
        self.vs.width, self.vs.height, self.vs.pix_fmt = plan.output.width, plan.output.height, "yuv420p"
        self.frame_tb = Fraction(1, 1) / rate
        self.vs.time_base = self.frame_tb
        self.vs.options = {"crf": str(enc.get("crf", 23)), "preset": str(enc.get("preset", "faster")), "profile": "high"}
        self.ast = container.add_stream("aac", rate=AUDIO_RATE, layout="stereo")
        self.ast.bit_rate = AUDIO_BITRATE
        self.a_step = self.ast.codec_context.frame_size or 1024
        self.audio = audio
        self.a_pos = 0
        self.frames = 0

    def video(self, img: np.ndarray) -> None:
        """Encode the next output frame (uint8 RGB or RGBA) and the audio up to its end."""
        vf = av.VideoFrame.from_ndarray(img, format="rgba" if img.shape[2] == 4 else "rgb24").reformat(format="yuv420p")
        vf.pts = self.frames
        vf.time_base = self.frame_tb
        for pkt in self.vs.encode(vf):
            self.oc.mux(pkt)
        self.frames += 1
        self._audio_upto(int(round(self.frames / self.fps * AUDIO_RATE)))

    def _audio_upto(self, upto: int) -> None:
        n_audio = self.audio.shape[0]
        step = self.a_step
        while self.a_pos + step <= upto or (upto >= n_audio and self.a_pos < n_audio):
            chunk = self.audio[self.a_pos: self.a_pos + step]
            if chunk.shape[0] < step:
                chunk = np.concatenate([chunk, np.zeros((step - chunk.shape[0], 2), np.float32)]) if chunk.shape[0] else chunk
            af = av.AudioFrame.from_ndarray(np.ascontiguousarray(chunk.T), format="fltp", layout="stereo")
            af.sample_rate = AUDIO_RATE
            af.pts = self.a_pos
            af.time_base = Fraction(1, AUDIO_RATE)
            for pkt in self.ast.encode(af):
                self.oc.mux(pkt)
            self.a_pos += step

    def close(self) -> None:
        """Flush both encoders (the rest of the audio first fed in)."""
        for pkt in self.vs.encode():
            self.oc.mux(pkt)
        self._audio_upto(self.audio.shape[0])
        for pkt in self.ast.encode():
            self.oc.mux(pkt)


def _fit_audio(audio: np.ndarray | None, n: int) -> np.ndarray:
    """The soundtrack as float32 (n, 2): padded with silence or cut to ``n`` samples."""
    if audio is None:
        return np.zeros((n, 2), np.float32)
    a = np.asarray(audio, np.float32)
    if a.ndim != 2 or a.shape[1] != 2:
        raise ValueError(f"audio must have shape (n, 2), got {a.shape}")
    if a.shape[0] < n:
        a = np.concatenate([a, np.zeros((n - a.shape[0], 2), np.float32)])
    return np.ascontiguousarray(a[:n])


def render(
    plan: EditPlan,
    *,
    footage: Sequence[tuple[str | os.PathLike[str], VideoInfo]],
    out_path: str | os.PathLike[str],
    luts: Mapping[str, str | None] | None = None,
    audio: np.ndarray | None = None,
    control: Control | None = None,
) -> VideoInfo:
    """Render ``plan`` to ``out_path`` (MP4); returns :func:`clipzy.engine.media.probe` of it.

    ``footage[clip]``: (path, probed info) of each clip the segments name. ``luts``: LUT name
    → ``.cube`` path for lut3d (a missing name or None → that grade is skipped). ``audio``:
    float32 (n, 2) at 48 kHz for the whole output (None → a silent stereo track).
    """
    control = ensure(control)
    W, H = plan.output.width, plan.output.height
    n_frames = plan.output.frame_count
    if W < 2 or H < 2 or W % 2 or H % 2:
        raise ValueError(f"output size must be even and >= 2, got {W}x{H}")
    if n_frames < 1 or plan.fps <= 0:
        raise ValueError("plan has no frames")
    sound = _fit_audio(audio, int(round(n_frames / plan.fps * AUDIO_RATE)))
    graders = _graders(plan, luts or {})
    readers = [[FootageReader(path, info), FootageReader(path, info)] for path, info in footage]
    try:
        with atomic_path(out_path, suffix=".mp4") as tmp:
            with av.open(tmp, "w", format="mp4", options={"movflags": "+faststart"}) as oc:
                encoder = _Encoder(oc, plan, sound)
                for img in _composite(plan, readers, graders, control):
                    encoder.video(img)
                    control.progress(encoder.frames / n_frames)
                if encoder.frames != n_frames:
                    raise ValueError(f"plan segments cover {encoder.frames} frames, output needs {n_frames}")
                encoder.close()
    finally:
        for pair in readers:
            for r in pair:
                r.close()
    return probe(out_path)
