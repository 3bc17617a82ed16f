"""Probe, decode and the one frame loop that feeds every visual analyser (PyAV).

* :func:`probe` reads a file's real properties (display size with rotation applied,
  duration in seconds, frame rate, codecs, container) or raises
  :class:`~clipzy.engine.errors.InvalidMediaError`.
* :class:`FramePump` decodes a video once, in a background thread with FFmpeg's own
  threading, scales each frame in swscale (C) to the size every consumer asked for,
  rotates it upright, and hands it to the consumers with its presentation time in
  seconds. It records how much really decoded (:attr:`FramePump.decoded_duration_s`): a
  file that stops decoding early is measured on what decoded. Consumers are small objects with ``frame_size`` (display width, height in
  pixels), ``every_s`` (minimum seconds between two frames it wants; 0 = every frame)
  and ``push(image, t_s)``. Memory is bounded by a short queue: the pump never holds a
  whole video.
* :func:`decode_audio` returns float PCM at a fixed rate for the audio analysers.
"""
from __future__ import annotations

import math
import os
import queue
import threading
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Iterable, Protocol

import av
import numpy as np

from .control import Control, ensure
from .errors import InvalidMediaError

#: Container names the service accepts (API.md ``metadata.format``).
FORMATS = ("mp4", "mov", "avi", "mkv", "webm")

#: Most elongated frame accepted (long side ÷ short side). Beyond it the analysers' frames
#: degenerate (e.g. 320x20 for a 16:1 video: OpenCV's DIS flow segfaults below 32 rows).
MAX_ASPECT_RATIO = 8.0

# Keep FFmpeg quiet without a Python log callback: a callback (any level) deadlocks
# with frame-threaded decoders at interpreter exit. Errors surface as exceptions.
av.logging.set_level(None)


@dataclass(frozen=True)
class VideoInfo:
    """What :func:`probe` measured. Sizes in display pixels (rotation applied)."""

    width: int
    height: int
    coded_width: int
    coded_height: int
    rotation: int  # clockwise display rotation: 0, 90, 180 or 270
    duration_seconds: float
    frame_rate: float  # average frames per second
    frame_count: int  # exact if the container says so, else duration × rate
    codec: str
    pixel_format: str | None
    bitrate_kbps: int | None
    format: str  # one of FORMATS, or FFmpeg's name for anything else
    has_audio: bool
    audio_codec: str | None
    audio_sample_rate: int | None
    audio_channels: int | None
    media_duration_seconds: float = 0.0  # the longest stream's duration (audio may outlast the video)

    def metadata(self) -> dict[str, Any]:
        """The ``metadata`` object of API.md."""
        return {
            "width": self.width,
            "height": self.height,
            "duration_seconds": round(self.duration_seconds, 3),
            "frame_rate": round(self.frame_rate, 3),
            "codec": self.codec,
            "bitrate_kbps": self.bitrate_kbps,
            "format": self.format,
            "has_audio": self.has_audio,
            "audio_codec": self.audio_codec,
            "audio_sample_rate": self.audio_sample_rate,
            "rotation": self.rotation,
        }


def _container_format(path: str, ffmpeg_name: str) -> str:
    """mp4/mov by the ``ftyp`` major brand, webm/mkv by the EBML DocType."""
    names = set(ffmpeg_name.split(","))
    with open(path, "rb") as fh:
        head = fh.read(4096)
    if "mp4" in names or "mov" in names:
        if len(head) >= 12 and head[4:8] == b"ftyp":
            return "mov" if head[8:12] == b"qt  " else "mp4"
        return "mov"  # QuickTime files may start without ftyp
    if "matroska" in names or "webm" in names:
        i = head.find(b"\x42\x82")  # DocType element id
        if i >= 0 and i + 3 < len(head):
            size_byte = head[i + 2]
            if size_byte & 0x80:
                n = size_byte & 0x7F
                doctype = head[i + 3 : i + 3 + n]
                return "webm" if doctype.startswith(b"webm") else "mkv"
        return "mkv"
    if "avi" in names:
        return "avi"
    return ffmpeg_name.split(",")[0]


def _rotation_of(frame: av.VideoFrame) -> int:
    """Clockwise display rotation in degrees (0/90/180/270) of a decoded frame.

    FFmpeg's display matrix angle is counter-clockwise; users and API.md speak of
    the clockwise rotation a player applies.
    """
    rot = int(round(getattr(frame, "rotation", 0) or 0))
    return (-rot) % 360


def probe(path: str | os.PathLike[str]) -> VideoInfo:
    """Measure a video file. Raises InvalidMediaError when it is not a decodable video.

    Decodes the first frame to prove the stream is really decodable and to read its
    display rotation.
    """
    path = os.fspath(path)
    try:
        container = av.open(path, metadata_errors="ignore")
    except Exception as exc:  # av.error.* and OSError alike
        raise InvalidMediaError("the file is not a readable media container") from exc
    with container:
        if not container.streams.video:
            raise InvalidMediaError("the file has no video stream")
        vs = container.streams.video[0]
        vs.thread_type = "AUTO"
        first = _first_frame(container, vs)
        cw, ch = int(vs.codec_context.width or first.width), int(vs.codec_context.height or first.height)
        rotation = _rotation_of(first)
        w, h = _display_size(cw, ch, rotation)
        duration, fps, frames = _timing(container, vs)
        bit_rate = container.bit_rate or vs.bit_rate
        audio = container.streams.audio[0] if container.streams.audio else None
        spans = [duration] + [float(s.duration * s.time_base) for s in container.streams if s.duration and s.time_base]
        if container.duration:
            spans.append(container.duration / 1_000_000)
        longest = max(x for x in spans if math.isfinite(x))
        actx = audio.codec_context if audio is not None else None
        return VideoInfo(
            width=w, height=h, coded_width=cw, coded_height=ch, rotation=rotation, duration_seconds=float(duration),
            frame_rate=fps, frame_count=frames, codec=vs.codec_context.name, pixel_format=vs.codec_context.pix_fmt,
            bitrate_kbps=int(round(bit_rate / 1000)) if bit_rate else None,
            format=_container_format(path, container.format.name), has_audio=audio is not None,
            audio_codec=actx.name if actx is not None else None,
            audio_sample_rate=int(actx.sample_rate) if actx is not None and actx.sample_rate else None,
            audio_channels=int(actx.channels) if actx is not None and actx.channels else None,
            media_duration_seconds=float(longest),
        )


def _first_frame(container: Any, vs: Any) -> av.VideoFrame:
    """The first decoded frame of ``vs``, or InvalidMediaError."""
    try:
        for frame in container.decode(vs):
            return frame
    except Exception as exc:
        raise InvalidMediaError("the video stream cannot be decoded") from exc
    raise InvalidMediaError("the video stream has no decodable frames")


def _display_size(cw: int, ch: int, rotation: int) -> tuple[int, int]:
    """The display size of a ``cw``×``ch`` coded frame; InvalidMediaError for unusable shapes."""
    if cw <= 0 or ch <= 0:
        raise InvalidMediaError("the video stream has no frame size")
    w, h = (ch, cw) if rotation in (90, 270) else (cw, ch)
    if min(w, h) < 2:  # FramePump consumers and the renderer need at least 2x2
        raise InvalidMediaError(f"the frame is too small ({w}x{h} pixels; at least 2x2 are needed)")
    if max(w, h) > MAX_ASPECT_RATIO * min(w, h):
        raise InvalidMediaError(f"the frame shape {w}x{h} is not supported (aspect ratio over {MAX_ASPECT_RATIO:g}:1)")
    return w, h


def _timing(container: Any, vs: Any) -> tuple[float, float, int]:
    """(duration in seconds, average frames per second, frame count) of the video stream, from
    the stream's own fields, else the container's, else each other."""
    rate = vs.average_rate or vs.guessed_rate or vs.base_rate
    fps = float(rate) if rate else 0.0
    duration = None
    if vs.duration is not None and vs.time_base is not None:
        duration = float(vs.duration * vs.time_base)
    if (not duration or duration <= 0) and container.duration is not None:
        duration = container.duration / 1_000_000
    if not duration or duration <= 0 or not math.isfinite(duration):
        duration = 0.0
    if fps <= 0 or not math.isfinite(fps) or fps > 1000:
        fps = float(vs.frames) / duration if vs.frames and duration else 0.0
    frames = int(vs.frames) if vs.frames else int(round(duration * fps))
    if duration <= 0 and frames and fps:
        duration = frames / fps
    return duration, fps, frames


# ---------------------------------------------------------------------------
# The frame loop
# ---------------------------------------------------------------------------


class FrameConsumer(Protocol):
    """What :class:`FramePump` feeds. ``image`` is uint8 RGB, shape (height, width, 3)."""

    frame_size: tuple[int, int]  # (width, height) in display pixels
    every_s: float  # minimum seconds between two pushed frames; 0 = every frame

    def push(self, image: np.ndarray, t_s: float) -> None: ...


def rgb_frame(image: np.ndarray) -> np.ndarray:
    """``image`` as a uint8 RGB array ``(h, w, 3)``; ValueError for anything else (consumers' ``push``)."""
    img = np.asarray(image)
    if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
        raise ValueError(f"push expects uint8 RGB (h, w, 3), got {img.dtype} {img.shape}")
    return img


def fit_width(info: VideoInfo, width: int) -> tuple[int, int]:
    """Display size ``width`` pixels wide with the video's aspect kept (even height)."""
    width = max(2, int(width))
    height = max(2, int(round(info.height * width / max(1, info.width) / 2)) * 2)
    return width, height


_END = object()


class FramePump:
    """Decode a video once and feed each consumer frames at its own size and rate.

    Decoding and scaling run in a background thread (FFmpeg releases the GIL), so
    analysis in the calling thread overlaps with decoding. Errors in the decoder are
    re-raised in the caller; ``control.check()`` runs between frames, and progress
    is reported as the fraction of the duration decoded.
    """

    QUEUE_FRAMES = 8

    def __init__(self, path: str | os.PathLike[str], consumers: Iterable[FrameConsumer], *, info: VideoInfo | None = None) -> None:
        self.path = os.fspath(path)
        self.consumers = list(consumers)
        if not self.consumers:
            raise ValueError("FramePump needs at least one consumer")
        for c in self.consumers:
            w, h = c.frame_size
            if w < 2 or h < 2:
                raise ValueError(f"consumer frame_size must be at least 2x2, got {c.frame_size}")
            if c.every_s < 0:
                raise ValueError(f"consumer every_s must be >= 0, got {c.every_s}")
        self.info = info or probe(self.path)
        self.frames_decoded = 0
        self.last_frame_s: float | None = None  # time of the last frame decoded
        self.stopped_early = False  # the decoder failed after the first frame (a damaged tail)

    @property
    def decoded_duration_s(self) -> float:
        """Seconds of video that really decoded: up to the end of the last decoded frame (one
        frame interval after its time), never more than the container claims."""
        if self.last_frame_s is None:
            return 0.0
        fps = self.info.frame_rate
        end = self.last_frame_s + (1.0 / fps if fps > 0 else 0.0)
        return min(end, self.info.duration_seconds) if self.info.duration_seconds > 0 else end

    def run(self, control: Control | None = None) -> int:
        """Decode the whole video; returns the number of frames decoded."""
        control = ensure(control)
        q: queue.Queue = queue.Queue(maxsize=self.QUEUE_FRAMES)
        stop = threading.Event()
        thread = threading.Thread(target=self._decode, args=(q, stop), name="clipzy-decode", daemon=True)
        thread.start()
        duration = max(self.info.duration_seconds, 1e-6)
        next_due = [0.0 for _ in self.consumers]
        try:
            while True:
                control.check()
                try:
                    item = q.get(timeout=0.25)
                except queue.Empty:
                    continue
                if item is _END:
                    break
                if isinstance(item, BaseException):
                    if self.frames_decoded > 0 and isinstance(item, av.error.FFmpegError):
                        self.stopped_early = True  # a damaged tail: keep what decoded
                        break
                    raise InvalidMediaError("the video stream cannot be decoded") from item
                t, images = item
                self.frames_decoded += 1
                self.last_frame_s = t
                for i, c in enumerate(self.consumers):
                    if c.every_s and t + 1e-6 < next_due[i]:
                        continue
                    next_due[i] = t + c.every_s
                    c.push(images[c.frame_size], t)
                control.progress(min(1.0, t / duration))
        finally:
            stop.set()
            thread.join(timeout=5)
        if self.frames_decoded == 0:
            raise InvalidMediaError("the video stream has no decodable frames")
        control.progress(1.0)
        return self.frames_decoded

    def _decode(self, q: queue.Queue, stop: threading.Event) -> None:
        """The decoder thread: every frame's time and its images at each consumer size onto
        ``q``, then ``_END``; an exception is handed over instead."""
        sizes = sorted({c.frame_size for c in self.consumers})
        try:
            with av.open(self.path, metadata_errors="ignore") as container:
                vs = container.streams.video[0]
                vs.thread_type = "AUTO"
                start = vs.start_time * vs.time_base if vs.start_time is not None else 0
                last_t = -1.0
                for frame in container.decode(vs):
                    if stop.is_set():
                        return
                    if frame.pts is None:
                        t = last_t + (1.0 / self.info.frame_rate if self.info.frame_rate else 0.04)
                    else:
                        t = float(frame.pts * vs.time_base - start)
                    if t <= last_t:  # non-monotonic timestamps: keep order, nudge forward
                        t = last_t + 1e-3
                    last_t = t
                    images = {size: self._upright(frame, size) for size in sizes}
                    while not stop.is_set():
                        try:
                            q.put((t, images), timeout=0.1)
                            break
                        except queue.Full:
                            continue
            q.put(_END)
        except BaseException as exc:  # hand decoder errors to the caller
            q.put(exc)

    def _upright(self, frame: av.VideoFrame, size: tuple[int, int]) -> np.ndarray:
        """``frame`` scaled in swscale to the display ``size`` and rotated upright (uint8 RGB)."""
        w, h = size
        rotation = self.info.rotation
        cw, ch = (h, w) if rotation in (90, 270) else (w, h)
        arr = frame.reformat(width=cw, height=ch, format="rgb24", interpolation="AREA").to_ndarray()
        if rotation:
            arr = np.ascontiguousarray(np.rot90(arr, k=-rotation // 90))
        return arr


# ---------------------------------------------------------------------------
# Audio
# ---------------------------------------------------------------------------

#: Song containers and codecs by what FFmpeg names them → the ``format`` a client sees.
AUDIO_FORMATS = {"mp3": "mp3", "wav": "wav", "flac": "flac", "ogg": "ogg", "aac": "aac", "adts": "aac",
                 "mov,mp4,m4a,3gp,3g2,mj2": "m4a", "matroska,webm": "mkv"}


@dataclass(frozen=True)
class AudioInfo:
    """What :func:`probe_audio` measured of a song's first audio stream."""

    duration_seconds: float
    sample_rate: int
    channels: int
    codec: str
    format: str
    bitrate_kbps: int | None
    has_video: bool  # a video file given as a song (its first audio track is the song)

    def metadata(self) -> dict[str, Any]:
        """The ``metadata`` object of API.md's audio upload."""
        return {"duration_seconds": round(self.duration_seconds, 3), "sample_rate": self.sample_rate,
                "channels": self.channels, "codec": self.codec, "format": self.format,
                "bitrate_kbps": self.bitrate_kbps}


def probe_audio(path: str | os.PathLike[str]) -> AudioInfo:
    """Measure a song: its first audio stream must decode. InvalidMediaError otherwise.

    The duration comes from decoding (not the header) when the container does not say it.
    """
    path = os.fspath(path)
    try:
        container = av.open(path, metadata_errors="ignore")
    except Exception as exc:
        raise InvalidMediaError("the file is not a readable media container") from exc
    with container:
        if not container.streams.audio:
            raise InvalidMediaError("the file has no audio stream")
        stream = container.streams.audio[0]
        ctx = stream.codec_context
        try:
            first = next(iter(container.decode(stream)), None)
        except Exception as exc:
            raise InvalidMediaError("the audio stream cannot be decoded") from exc
        if first is None or not (ctx.sample_rate or first.sample_rate):
            raise InvalidMediaError("the audio stream has no decodable samples")
        duration = float(stream.duration * stream.time_base) if stream.duration and stream.time_base else 0.0
        if duration <= 0 and container.duration:
            duration = container.duration / 1_000_000
        if not math.isfinite(duration) or duration <= 0:
            duration = _decoded_seconds(container, stream, first)
        if duration <= 0:
            raise InvalidMediaError("the audio stream has no duration")
        name = container.format.name
        fmt = AUDIO_FORMATS.get(name, name.split(",")[0])
        if fmt == "mkv" or (fmt == "m4a" and container.streams.video):
            fmt = _container_format(path, name)  # an mp4/mov video given as a song; webm vs mkv
        bit_rate = container.bit_rate or stream.bit_rate
        return AudioInfo(duration_seconds=duration, sample_rate=int(ctx.sample_rate or first.sample_rate),
                         channels=int(ctx.channels or first.layout.nb_channels),
                         codec=getattr(ctx.codec, "canonical_name", None) or ctx.name, format=fmt,
                         bitrate_kbps=int(round(bit_rate / 1000)) if bit_rate else None,
                         has_video=bool(container.streams.video))


def _decoded_seconds(container: Any, stream: Any, first: Any) -> float:
    """Seconds of audio in ``stream`` counted by decoding it (for containers that do not say)."""
    samples, rate = first.samples, first.sample_rate or stream.codec_context.sample_rate
    try:
        for frame in container.decode(stream):
            samples += frame.samples
    except Exception:  # a damaged tail: what decoded counts
        pass
    return samples / float(rate) if rate else 0.0


@dataclass(frozen=True)
class AudioTrack:
    """Decoded PCM. ``samples`` is float32, shape (n_samples, channels), in [-1, 1]."""

    samples: np.ndarray
    sample_rate: int  # Hz
    layout: str  # FFmpeg layout name, e.g. "stereo", "5.1", "mono"

    @property
    def duration_seconds(self) -> float:
        return self.samples.shape[0] / float(self.sample_rate)

    def mono(self) -> np.ndarray:
        """Channel mean, shape (n_samples,), float32."""
        return self.samples.mean(axis=1).astype(np.float32) if self.samples.shape[1] > 1 else self.samples[:, 0]


def decode_audio(
    path: str | os.PathLike[str],
    *,
    sample_rate: int = 48000,
    layout: str | None = None,
    max_duration_s: float | None = None,
    control: Control | None = None,
) -> AudioTrack | None:
    """Decode the first audio stream to float PCM at ``sample_rate`` Hz.

    ``layout`` None keeps the source channel layout (needed for BS.1770 channel
    weights); "mono"/"stereo" downmix in swresample. ``max_duration_s``: stop after that
    many seconds (the rest is not decoded). Returns None when the file has no audio
    stream. A damaged tail keeps what decoded before it.
    """
    if sample_rate <= 0:
        raise ValueError(f"sample_rate must be > 0, got {sample_rate}")
    control = ensure(control)
    path = os.fspath(path)
    try:
        container = av.open(path, metadata_errors="ignore")
    except Exception as exc:
        raise InvalidMediaError("the file is not a readable media container") from exc
    with container:
        if not container.streams.audio:
            return None
        stream = container.streams.audio[0]
        src_layout = stream.codec_context.layout.name if stream.codec_context.layout else "stereo"
        out_layout = layout or src_layout
        # Packed float: PyAV's planar to_ndarray reads past its 8 data pointers (segfault on 7.1).
        resampler = av.AudioResampler(format="flt", layout=out_layout, rate=sample_rate)
        nch = av.AudioLayout(out_layout).nb_channels
        chunks: list[np.ndarray] = []
        n = 0
        limit = None if max_duration_s is None else max(0, int(round(max_duration_s * sample_rate)))
        try:
            for i, frame in enumerate(container.decode(stream)):
                for out in resampler.resample(frame):
                    arr = out.to_ndarray().reshape(-1, nch)  # (samples, channels), C order
                    chunks.append(arr)
                    n += arr.shape[0]
                if i % 64 == 0:
                    control.check()
                if limit is not None and n >= limit:
                    break
            else:
                for out in resampler.resample(None):
                    chunks.append(out.to_ndarray().reshape(-1, nch))
        except av.error.FFmpegError:
            if not chunks:
                raise InvalidMediaError("the audio stream cannot be decoded")
    if not chunks:
        channels = av.AudioLayout(out_layout).nb_channels if hasattr(av.AudioLayout(out_layout), "nb_channels") else 2
        return AudioTrack(np.zeros((0, channels), np.float32), sample_rate, out_layout)
    pcm = np.concatenate(chunks, axis=0)  # already C-contiguous (samples, channels): one copy at the peak
    del chunks
    if limit is not None:
        pcm = pcm[:limit]
    return AudioTrack(pcm.astype(np.float32, copy=False), sample_rate, out_layout)


def rational(x: float, *, limit: int = 1001) -> Fraction:
    """A frame rate as a Fraction with a small denominator (29.97 → 30000/1001)."""
    for den in (1, 1001, 100, 1000):
        num = x * den
        if abs(num - round(num)) < 1e-3 * den:
            return Fraction(int(round(num)), den)
    return Fraction(x).limit_denominator(limit)
