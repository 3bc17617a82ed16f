"""Render an edit plan to MP4 (PyAV + OpenCV + libavfilter; no per-pixel Python).

:func:`render` walks the plan's output frames in order (constant frame rate = the plan's):

* each segment's footage is decoded from ``footage_in`` (seek to the keyframe before it,
  then decode forward; footage time = ``footage_in`` + output time since ``output_in``, so
  1:1 speed; the shown footage frame is the last one whose timestamp is ≤ that time);
* the crop window is interpolated from the segment's keyframes, cut out of the decoded
  frame (a numpy view) and scaled to the output size with OpenCV (area filter when
  shrinking, bilinear when enlarging);
* the global LUT is applied by libavfilter's ``lut3d`` (:class:`clipzy.engine.lut.LutFilter`,
  tetrahedral) — for long renders baked once through lut3d into a 2²⁴-entry table
  (:class:`~clipzy.engine.lut.BakedLut`, bit-identical, one gather per frame); an identity LUT
  (``color_strength`` 0) is skipped so colours stay unchanged;
* a transition occupies the first frames of the segment it leads into; the outgoing picture
  is the previous segment continued past its out point (its own decoder, so no re-seek) for
  the plan's ``tail_ms`` (footage left in its shot), then its last frame held.
  Progress p = (k + 1) / (d + 1) for frame k of d, shaped by the easing (``linear``,
  ``ease-in`` p², ``ease-out`` 1 − (1 − p)², ``ease-in-out`` smoothstep): ``dissolve`` =
  crossfade, ``fade`` = the outgoing picture fades to black over the first half and the
  incoming one from black over the second, ``wipe`` = a left-to-right edge; ``cut`` = none;
* video is H.264 (libx264, the plan's CRF and preset, High profile, yuv420p) and audio AAC
  48 kHz stereo (the soundtrack of :func:`clipzy.engine.mix.build_soundtrack`, fed in step
  with the video so the file is interleaved), in MP4 with ``movflags=+faststart``.

The file is written to a hidden temporary file beside ``out_path`` and renamed into place
when complete; on cancellation, timeout or any error the partial file is removed.
``control.check()`` runs before every frame and ``control.progress`` after each one.
"""
from __future__ import annotations

import os
import tempfile
from fractions import Fraction
from typing import Any, Mapping

import av
import cv2
import numpy as np

from . import grade
from . import crop
from ..control import Control, ensure
from ..errors import InvalidMediaError
from ..media import VideoInfo, probe, rational

AUDIO_RATE = 48000
AUDIO_BITRATE = 192_000
SEEK_AHEAD_S = 1.5
BAKE_PIXELS = 60_000_000  # output pixels × frames above which the LUT is baked into a table  # decode forward instead of seeking when the target is this close ahead


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


def ease(p: float, easing: str) -> float:
    """Shaped transition progress for p in 0..1."""
    p = min(1.0, max(0.0, p))
    if easing == "ease-in":
        return p * p
    if easing == "ease-out":
        return 1 - (1 - p) ** 2
    if easing == "ease-in-out":
        return p * p * (3 - 2 * p)
    return p


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
    """Crop + scale + LUT of one segment's footage at output size."""

    def __init__(self, seg: Mapping[str, Any], reader: FootageReader, size: tuple[int, int], lut_filter: grade.LutFilter | grade.BakedLut | None) -> None:
        self.seg = seg
        self.reader = reader
        self.size = size
        self.lut = lut_filter
        self.f_in = seg["footage_in_ms"] / 1000.0
        self.keys = [{"t_s": k["t_ms"] / 1000.0, "x": k["x"], "y": k["y"], "width": k["width"], "height": k["height"]} for k in seg["crop"]]

    def frame(self, dt_s: float) -> np.ndarray:
        """Output-size frame ``dt_s`` seconds after the segment's footage_in: uint8 RGB, or
        RGBA (alpha 255) when graded by a :class:`~clipzy.engine.lut.BakedLut`."""
        img = self.reader.frame_at(self.f_in + dt_s)
        x, y, w, h = crop.crop_at(self.keys, dt_s)
        H, W = img.shape[:2]
        w, h = min(w, W), min(h, H)
        x, y = min(max(0, x), W - w), min(max(0, y), H - h)
        window = img[y: y + h, x: x + w]
        ow, oh = self.size
        interp = cv2.INTER_AREA if (w > ow or h > oh) else cv2.INTER_LINEAR
        out = window if (w, h) == (ow, oh) else cv2.resize(window, (ow, oh), interpolation=interp)
        if self.lut is not None:
            out = self.lut.apply(np.ascontiguousarray(out))
        return np.ascontiguousarray(out)


def render(
    plan: Mapping[str, Any],
    *,
    footage_path: str | os.PathLike[str],
    footage_info: VideoInfo,
    out_path: str | os.PathLike[str],
    cube_path: str | os.PathLike[str] | None = None,
    lut: np.ndarray | None = None,
    audio: np.ndarray | None = None,
    control: Control | None = None,
) -> VideoInfo:
    """Render ``plan`` to ``out_path`` (MP4); returns :func:`clipzy.engine.media.probe` of it.

    ``cube_path``: the .cube file for lut3d (None or an identity ``lut`` → no grading).
    ``audio``: float32 (n, 2) at 48 kHz for the whole output (None → a silent stereo track).
    """
    control = ensure(control)
    out = plan["output"]
    W, H = int(out["width"]), int(out["height"])
    fps = float(out["frame_rate"])
    n_frames = int(out["frame_count"])
    if W < 2 or H < 2 or W % 2 or H % 2:
        raise ValueError(f"output size must be even and >= 2, got {W}x{H}")
    if n_frames < 1 or fps <= 0:
        raise ValueError("plan has no frames")
    enc = plan.get("encoder") or {}
    rate = rational(fps)
    n_audio = int(round(n_frames / fps * AUDIO_RATE))
    if audio is None:
        audio = np.zeros((n_audio, 2), np.float32)
    audio = np.asarray(audio, np.float32)
    if audio.ndim != 2 or audio.shape[1] != 2:
        raise ValueError(f"audio must have shape (n, 2), got {audio.shape}")
    if audio.shape[0] < n_audio:
        audio = np.concatenate([audio, np.zeros((n_audio - audio.shape[0], 2), np.float32)])
    audio = np.ascontiguousarray(audio[:n_audio])

    lut_filter: grade.LutFilter | grade.BakedLut | None = None
    if cube_path is not None and (lut is None or not grade.is_identity(lut)):
        # long renders: bake the LUT once through lut3d for all 2^24 colours (~1 s), then one
        # table gather per frame; short ones: lut3d per frame
        big = W * H * n_frames > BAKE_PIXELS
        lut_filter = grade.BakedLut(cube_path) if big else grade.LutFilter(cube_path, W, H)

    out_path = os.fspath(out_path)
    d = os.path.dirname(os.path.abspath(out_path))
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(out_path) + ".", suffix=".partial.mp4", dir=d)
    os.close(fd)
    readers = [FootageReader(footage_path, footage_info), FootageReader(footage_path, footage_info)]
    ok = False
    try:
        with av.open(tmp, "w", format="mp4", options={"movflags": "+faststart"}) as oc:
            vs = oc.add_stream("libx264", rate=rate)
            vs.width, vs.height, vs.pix_fmt = W, H, "yuv420p"
            frame_tb = Fraction(1, 1) / rate
            vs.time_base = frame_tb
            vs.options = {"crf": str(enc.get("crf", 23)), "preset": str(enc.get("preset", "faster")), "profile": "high"}
            ast = oc.add_stream("aac", rate=AUDIO_RATE, layout="stereo")
            ast.bit_rate = AUDIO_BITRATE
            a_step = ast.codec_context.frame_size or 1024
            a_pos = 0

            def push_audio(upto: int) -> None:
                nonlocal a_pos
                while a_pos + a_step <= upto or (upto >= n_audio and a_pos < n_audio):
                    chunk = audio[a_pos: a_pos + a_step]
                    if chunk.shape[0] < a_step:
                        chunk = np.concatenate([chunk, np.zeros((a_step - chunk.shape[0], 2), np.float32)]) if chunk.shape[0] else chunk
                    af = av.AudioFrame.from_ndarray(np.ascontiguousarray(chunk.T), format="fltp", layout="stereo")
                    af.sample_rate = AUDIO_RATE
                    af.pts = a_pos
                    af.time_base = Fraction(1, AUDIO_RATE)
                    for pkt in ast.encode(af):
                        oc.mux(pkt)
                    a_pos += a_step

            segs = plan["segments"]
            fno = 0
            for i, seg in enumerate(segs):
                src = _SegmentSource(seg, readers[i % 2], (W, H), lut_filter)
                prev = _SegmentSource(segs[i - 1], readers[(i - 1) % 2], (W, H), lut_filter) if i > 0 else None
                tr = seg.get("transition_in") or {"type": "cut", "duration_ms": 0}
                f0, f1 = int(seg["output_in_frame"]), int(seg["output_out_frame"])
                dtr = 0 if (prev is None or tr["type"] == "cut") else min(f1 - f0, int(round(tr["duration_ms"] * fps / 1000.0)))
                prev_len = (segs[i - 1]["output_out_frame"] - segs[i - 1]["output_in_frame"]) / fps if i > 0 else 0.0
                for j in range(f0, f1):
                    control.check()
                    k = j - f0
                    if k < dtr:
                        # outgoing first (its decoder continues forward), then incoming
                        tail = segs[i - 1].get("tail_ms", dtr * 1000.0 / fps) / 1000.0
                        a = prev.frame(min(prev_len + k / fps, prev_len + tail - 1.0 / fps)).copy()
                        b = src.frame(k / fps)
                        img = blend(a, b, tr["type"], ease((k + 1) / (dtr + 1), tr.get("easing", "linear")))
                    else:
                        img = src.frame(k / fps)
                    vf = av.VideoFrame.from_ndarray(img, format="rgba" if img.shape[2] == 4 else "rgb24").reformat(format="yuv420p")
                    vf.pts = fno
                    vf.time_base = frame_tb
                    for pkt in vs.encode(vf):
                        oc.mux(pkt)
                    fno += 1
                    push_audio(int(round(fno / fps * AUDIO_RATE)))
                    control.progress(fno / n_frames)
            if fno != n_frames:
                raise ValueError(f"plan segments cover {fno} frames, output needs {n_frames}")
            for pkt in vs.encode():
                oc.mux(pkt)
            push_audio(n_audio)
            for pkt in ast.encode():
                oc.mux(pkt)
        os.replace(tmp, out_path)
        ok = True
    finally:
        for r in readers:
            r.close()
        if not ok and os.path.exists(tmp):
            os.unlink(tmp)
    return probe(out_path)
