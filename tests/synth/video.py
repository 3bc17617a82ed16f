"""Write small videos (and audio) from numpy arrays with PyAV, for tests with known truth."""
from __future__ import annotations

import os
from fractions import Fraction
from typing import Iterable

import av
import numpy as np

CONTAINER_CODECS = {
    "mp4": ("mp4", "libx264", "aac"),
    "mov": ("mov", "libx264", "aac"),
    "mkv": ("matroska", "libx264", "aac"),
    "webm": ("webm", "libvpx-vp9", "libopus"),
    "avi": ("avi", "mpeg4", "mp3"),
}


def write_video(
    path: str | os.PathLike[str],
    frames: Iterable[np.ndarray],
    *,
    fps: float | Fraction = 25,
    container: str | None = None,
    audio: np.ndarray | None = None,
    sample_rate: int = 48000,
    rotation: int = 0,
    crf: int = 18,
    pix_fmt: str = "yuv420p",
) -> str:
    """Encode RGB uint8 frames (H, W, 3) to ``path``; returns the path.

    ``audio`` is float32 (n,) mono or (n, ch) in [-1, 1]. ``rotation`` is the
    clockwise display rotation written as the stream's display matrix.
    ``container`` defaults to the file extension (mp4, mov, mkv, webm, avi).
    """
    path = os.fspath(path)
    kind = container or os.path.splitext(path)[1].lstrip(".").lower()
    fmt, vcodec, acodec = CONTAINER_CODECS[kind]
    rate = Fraction(fps).limit_denominator(1001)
    with av.open(path, "w", format=fmt) as out:
        vs = None
        astream = None
        if audio is not None:
            audio = np.asarray(audio, dtype=np.float32)
            if audio.ndim == 1:
                audio = audio[:, None]
            layout = "mono" if audio.shape[1] == 1 else "stereo" if audio.shape[1] == 2 else "5.1"
            astream = out.add_stream(acodec, rate=sample_rate if acodec != "libopus" else 48000, layout=layout)
        for i, img in enumerate(frames):
            if vs is None:
                h, w = img.shape[:2]
                vs = out.add_stream(vcodec, rate=rate)
                vs.width, vs.height = w, h
                vs.pix_fmt = pix_fmt
                if vcodec == "libx264":
                    vs.options = {"crf": str(crf), "preset": "ultrafast"}
                elif vcodec == "libvpx-vp9":
                    vs.options = {"crf": "30", "b:v": "0", "deadline": "realtime", "cpu-used": "8"}
                if rotation:
                    vs.set_display_rotation(-rotation)  # FFmpeg's angle is counter-clockwise
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(img, dtype=np.uint8), format="rgb24")
            frame.pts = i
            frame.time_base = 1 / rate
            for packet in vs.encode(frame):
                out.mux(packet)
        if vs is None:
            raise ValueError("write_video needs at least one frame")
        for packet in vs.encode():
            out.mux(packet)
        if astream is not None:
            sr = astream.codec_context.sample_rate
            data = audio if sr == sample_rate else _resample(audio, sample_rate, sr)
            step = astream.codec_context.frame_size or 1024
            for start in range(0, data.shape[0], step):
                chunk = np.ascontiguousarray(data[start:start + step].T)
                af = av.AudioFrame.from_ndarray(chunk, format="fltp", layout=astream.layout.name)
                af.sample_rate = sr
                af.pts = start
                for packet in astream.encode(af):
                    out.mux(packet)
            for packet in astream.encode():
                out.mux(packet)
    return path


def write_audio_mp4(path: str, audio: np.ndarray, *, sample_rate: int = 48000) -> str:
    """An AAC-only MP4 (an .m4a) of float audio (n, 1) or (n, 2)."""
    layout = "mono" if audio.shape[1] == 1 else "stereo"
    with av.open(path, "w", format="mp4") as out:
        s = out.add_stream("aac", rate=sample_rate, layout=layout)
        for start in range(0, audio.shape[0], 1024):
            f = av.AudioFrame.from_ndarray(np.ascontiguousarray(audio[start:start + 1024].T), format="fltp", layout=layout)
            f.sample_rate = sample_rate
            f.pts = start
            for p in s.encode(f):
                out.mux(p)
        for p in s.encode():
            out.mux(p)
    return path


def _resample(x: np.ndarray, src: int, dst: int) -> np.ndarray:
    n = int(round(x.shape[0] * dst / src))
    t = np.linspace(0, x.shape[0] - 1, n)
    return np.stack([np.interp(t, np.arange(x.shape[0]), x[:, c]) for c in range(x.shape[1])], axis=1).astype(np.float32)


def write_wav(path: str | os.PathLike[str], audio: np.ndarray, sample_rate: int = 48000) -> str:
    """Write float audio (n,) or (n, ch) as 16-bit PCM WAV."""
    import wave

    a = np.asarray(audio, dtype=np.float32)
    if a.ndim == 1:
        a = a[:, None]
    pcm = (np.clip(a, -1, 1) * 32767).astype("<i2")
    with wave.open(os.fspath(path), "wb") as w:
        w.setnchannels(a.shape[1])
        w.setsampwidth(2)
        w.setframerate(sample_rate)
        w.writeframes(pcm.tobytes())
    return os.fspath(path)


def read_frames(path: str | os.PathLike[str], size: tuple[int, int] | None = None) -> list[np.ndarray]:
    """Decode every frame of a (small) test video to RGB arrays, optionally resized (w, h)."""
    out = []
    with av.open(os.fspath(path)) as c:
        for f in c.decode(video=0):
            if size:
                f = f.reformat(width=size[0], height=size[1])
            out.append(f.to_ndarray(format="rgb24"))
    return out


def shared_media_frames(path: str, *, start_s: float = 0.0, count: int = 25, size: tuple[int, int] | None = None) -> list[np.ndarray]:
    """``count`` consecutive RGB frames of a real clip from ``start_s`` (for building test clips)."""
    out: list[np.ndarray] = []
    with av.open(path) as c:
        vs = c.streams.video[0]
        for f in c.decode(vs):
            if f.time is not None and f.time + 1e-6 < start_s:
                continue
            if size:
                f = f.reformat(width=size[0], height=size[1])
            out.append(f.to_ndarray(format="rgb24"))
            if len(out) >= count:
                break
    return out


def noise_clip(path: str | os.PathLike[str], seed: int) -> str:
    """A tiny valid MP4 at ``path``: 10 frames of 64x48 uniform noise (``seed``) at 10 fps."""
    rng = np.random.default_rng(seed)
    return write_video(path, [rng.integers(0, 255, (48, 64, 3), dtype=np.uint8) for _ in range(10)], fps=10)
