"""A corpus of hostile and broken media files, made in code, each with what is true about it.

:func:`build_corpus` writes every case into a folder and returns :class:`HostileCase`
objects. A case says what the service may answer (``expect``):

* ``"reject"``: a 4xx with one of ``codes``;
* ``"accept"``: 200, with the metadata in ``truth`` (exact keys, or ``(lo, hi)`` ranges);
* ``"either"``: a clean 4xx with one of ``codes`` or a 200 whose metadata matches ``truth``
  (damaged files a lenient decoder may still read).

Cases are small (< 200 kB, ≤ 2 s of video) so the whole corpus is written in about a second.
Files are made with PyAV (FFmpeg) and then damaged at the byte level: truncation, random
bytes, flipped bytes, patched MP4 boxes (``tkhd``, ``mvhd``, ``mdhd``, ``stts``), patched
Matroska elements (``Duration``, ``SimpleBlock`` timecodes), patched JPEG ``SOF0`` and AVI
header sizes.
"""
from __future__ import annotations

import math
import os
import struct
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Callable, Iterator

import av
import numpy as np

from .video import write_audio_mp4, write_video, write_wav

W, H = 64, 48  # default frame size (pixels)
FPS = 25


@dataclass(frozen=True)
class HostileCase:
    """One file of the corpus and what the service may say about it."""

    name: str
    path: str  # where the file is
    filename: str  # the name it is uploaded under
    expect: str  # "reject" | "accept" | "either"
    codes: tuple[str, ...] = ("UNSUPPORTED_FORMAT",)
    truth: dict[str, Any] = field(default_factory=dict)  # metadata key → value or (lo, hi)
    note: str = ""


# ---------------------------------------------------------------------------
# building blocks
# ---------------------------------------------------------------------------


def frames(n: int = 25, w: int = W, h: int = H, *, seed: int = 0) -> list[np.ndarray]:
    """``n`` RGB frames with texture and steady motion (so codecs really encode something)."""
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 256, (h + n, w + n, 3), dtype=np.uint8)
    base = ((base.astype(np.uint16) + np.roll(base, 1, axis=1)) // 2).astype(np.uint8)
    return [np.ascontiguousarray(base[i:i + h, i:i + w]) for i in range(n)]


def tone(seconds: float, *, sample_rate: int = 48000, channels: int = 1, hz: float = 440.0) -> np.ndarray:
    """A sine (n, channels) float32 at -14 dBFS, each channel a different pitch."""
    t = np.arange(int(round(seconds * sample_rate))) / sample_rate
    return np.stack([0.2 * np.sin(2 * np.pi * hz * (1 + c / 4) * t) for c in range(channels)], axis=1).astype(np.float32)


def encode(path: str, imgs: list[np.ndarray], *, fmt: str, codec: str = "libx264", pts: list[int] | None = None,
           time_base: Fraction = Fraction(1, FPS), rate: Fraction | int = FPS, pix_fmt: str = "yuv420p",
           options: dict[str, str] | None = None, audio: np.ndarray | None = None, audio_codec: str = "aac",
           sample_rate: int = 48000, layout: str | None = None, rotation: int = 0,
           mux_options: dict[str, str] | None = None) -> str:
    """Encode frames with full control of codec, pixel format, timestamps and audio layout.

    ``pts`` are presentation times in ``time_base`` units (default 0, 1, 2, ...).
    ``audio`` is float32 (n, channels); ``layout`` names its FFmpeg channel layout.
    """
    with av.open(path, "w", format=fmt, options=mux_options or {}) as out:
        vs = out.add_stream(codec, rate=rate)
        vs.width, vs.height = imgs[0].shape[1], imgs[0].shape[0]
        vs.pix_fmt = pix_fmt
        vs.time_base = time_base
        vs.codec_context.time_base = time_base
        opts = {"preset": "ultrafast"} if codec in ("libx264", "libx265") else {}
        if codec == "libx265":
            opts["x265-params"] = "log-level=none"
        opts.update(options or {})
        vs.options = opts
        if rotation:
            vs.set_display_rotation(-rotation)
        astream = None
        if audio is not None:
            layout = layout or {1: "mono", 2: "stereo", 6: "5.1", 8: "7.1"}[audio.shape[1]]
            astream = out.add_stream(audio_codec, rate=sample_rate, layout=layout)
        for i, img in enumerate(imgs):
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            frame.pts = pts[i] if pts is not None else i
            frame.time_base = time_base
            for p in vs.encode(frame):
                out.mux(p)
        for p in vs.encode():
            out.mux(p)
        if astream is not None:
            step = astream.codec_context.frame_size or 1024
            for start in range(0, audio.shape[0], step):
                # packed float (PyAV's planar path stops at 8 channels); the encoder converts
                chunk = np.ascontiguousarray(audio[start:start + step]).reshape(1, -1)
                af = av.AudioFrame.from_ndarray(chunk, format="flt", layout=layout)
                af.sample_rate = sample_rate
                af.pts = start
                for p in astream.encode(af):
                    out.mux(p)
            for p in astream.encode():
                out.mux(p)
    return path


def remux_from(src: str, dst: str, *, skip_packets: int, fmt: str = "mp4") -> int:
    """Copy ``src``'s video packets into ``dst`` starting at packet ``skip_packets`` (no re-encode).

    Returns the number of packets written. Used to make a stream that starts without a keyframe.
    """
    written = 0
    with av.open(src) as inp, av.open(dst, "w", format=fmt) as out:
        ins = inp.streams.video[0]
        ost = out.add_stream_from_template(ins)
        for i, pkt in enumerate(inp.demux(ins)):
            if pkt.dts is None or i < skip_packets:
                continue
            pkt.stream = ost
            out.mux(pkt)
            written += 1
    return written


# -- MP4 boxes ---------------------------------------------------------------------

_MP4_CONTAINERS = {b"moov", b"trak", b"mdia", b"minf", b"stbl", b"edts", b"dinf", b"udta"}


def mp4_boxes(data: bytes | bytearray, start: int = 0, end: int | None = None, depth: int = 0) -> Iterator[tuple[bytes, int, int]]:
    """Yield (type, offset of the box, offset of its payload) for every box, depth first."""
    end = len(data) if end is None else end
    i = start
    while i + 8 <= end:
        size, kind = struct.unpack(">I4s", data[i:i + 8])
        head = 8
        if size == 1:
            size = struct.unpack(">Q", data[i + 8:i + 16])[0]
            head = 16
        elif size == 0:
            size = end - i
        if size < head:
            return
        yield kind, i, i + head
        if kind in _MP4_CONTAINERS and depth < 8:
            yield from mp4_boxes(data, i + head, min(end, i + size), depth + 1)
        i += size


def _patch_full_box_durations(data: bytearray, kind: bytes, value: int) -> int:
    """Set the duration field of every ``mvhd``/``mdhd`` (version 0 or 1); returns how many."""
    n = 0
    for k, _off, pay in list(mp4_boxes(data)):
        if k != kind:
            continue
        version = data[pay]
        if version == 1:
            struct.pack_into(">Q", data, pay + 4 + 8 + 8 + 4, value)
        else:
            struct.pack_into(">I", data, pay + 4 + 4 + 4 + 4, min(value, 0xFFFFFFFF))
        n += 1
    return n


def patch_tkhd_size(data: bytearray, width: int, height: int) -> int:
    """Write ``width`` × ``height`` (16.16 fixed point) into every video ``tkhd``."""
    n = 0
    for k, _off, pay in list(mp4_boxes(data)):
        if k != b"tkhd":
            continue
        version = data[pay]
        base = pay + 4 + (8 + 8 + 4 + 4 + 8 if version == 1 else 4 + 4 + 4 + 4 + 4)
        wh = base + 8 + 2 + 2 + 2 + 2 + 36
        if struct.unpack(">I", data[wh:wh + 4])[0] == 0:
            continue  # audio track
        struct.pack_into(">II", data, wh, width << 16, height << 16)
        n += 1
    return n


def patch_stts_last_delta(data: bytearray, delta: int) -> int:
    """Set the sample duration (ticks) of the last ``stts`` run of every track; returns how many.

    With a constant frame rate the last run is the only one, so every sample lasts ``delta``.
    """
    n = 0
    for k, _off, pay in list(mp4_boxes(data)):
        if k != b"stts":
            continue
        count = struct.unpack(">I", data[pay + 4:pay + 8])[0]
        if count == 0:
            continue
        last = pay + 8 + (count - 1) * 8
        struct.pack_into(">I", data, last + 4, delta)
        n += 1
    return n


# -- Matroska elements ---------------------------------------------------------------

_EBML_MASTERS = {0x18538067, 0x1F43B675, 0x1549A966, 0xA0}  # Segment, Cluster, Info, BlockGroup


def _vint(data: bytes | bytearray, i: int, *, keep_marker: bool) -> tuple[int, int]:
    b = data[i]
    length = 1
    mask = 0x80
    while length <= 8 and not (b & mask):
        mask >>= 1
        length += 1
    if length > 8:
        raise ValueError("bad EBML vint")
    value = b if keep_marker else b & (mask - 1)
    for j in range(1, length):
        value = (value << 8) | data[i + j]
    return value, length


def ebml_elements(data: bytes | bytearray, start: int = 0, end: int | None = None) -> Iterator[tuple[int, int, int, int]]:
    """Yield (element id, offset, payload offset, payload size) depth first through masters."""
    end = len(data) if end is None else end
    i = start
    while i < end:
        eid, n1 = _vint(data, i, keep_marker=True)
        size, n2 = _vint(data, i + n1, keep_marker=False)
        pay = i + n1 + n2
        if size == (1 << (7 * n2)) - 1:  # unknown size
            size = end - pay
        yield eid, i, pay, size
        if eid in _EBML_MASTERS:
            yield from ebml_elements(data, pay, min(end, pay + size))
        i = pay + size


def patch_mkv_duration(data: bytearray, duration_ms: float) -> int:
    """Set Segment/Info/Duration (float, in TimecodeScale units: ms by default)."""
    n = 0
    for eid, _off, pay, size in list(ebml_elements(data)):
        if eid == 0x4489:
            struct.pack_into(">d" if size == 8 else ">f", data, pay, duration_ms)
            n += 1
    return n


def mkv_block_timecode_offsets(data: bytes | bytearray, track: int = 1) -> list[int]:
    """Offsets of the int16 relative timecodes of ``track``'s SimpleBlocks, in file order."""
    out = []
    for eid, _off, pay, _size in ebml_elements(data):
        if eid in (0xA3, 0xA1):
            tn, n = _vint(data, pay, keep_marker=False)
            if tn == track:
                out.append(pay + n)
    return out


# -- JPEG / AVI ------------------------------------------------------------------------


def patch_jpeg_sof(data: bytearray, width: int, height: int) -> int:
    """Set height/width in every baseline JPEG SOF0 marker (MJPEG frames)."""
    n = 0
    i = data.find(b"\xff\xc0")
    while i >= 0:
        struct.pack_into(">HH", data, i + 5, height, width)
        n += 1
        i = data.find(b"\xff\xc0", i + 9)
    return n


def patch_avi_size(data: bytearray, width: int, height: int) -> int:
    """Set the frame size in the AVI main header (``avih``) and the video ``strf``."""
    n = 0
    i = data.find(b"avih")
    if i >= 0:
        struct.pack_into("<II", data, i + 8 + 32, width, height)
        n += 1
    j = data.find(b"strf")
    while j >= 0:
        if data[j - 8:j - 4] == b"strh" or b"vids" in data[max(0, j - 64):j]:
            struct.pack_into("<ii", data, j + 8 + 4, width, height)
            n += 1
            break
        j = data.find(b"strf", j + 4)
    return n


def _write(path: str, data: bytes | bytearray) -> str:
    with open(path, "wb") as fh:
        fh.write(bytes(data))
    return path


def _read(path: str) -> bytearray:
    with open(path, "rb") as fh:
        return bytearray(fh.read())


# ---------------------------------------------------------------------------
# the corpus
# ---------------------------------------------------------------------------

REJECT_ANY = ("UNSUPPORTED_FORMAT", "MEDIA_LIMIT_EXCEEDED")


# ---------------------------------------------------------------------------
# the engine's decode paths on one file (run in a worker process by the tests)
# ---------------------------------------------------------------------------


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


class FrameChecker:
    """A trivial FramePump consumer: checks each frame's shape and time, and counts them."""

    every_s = 0.0

    def __init__(self, size: tuple[int, int]) -> None:
        self.frame_size = size
        self.n = 0
        self.last_t = -math.inf
        self.problems: list[str] = []

    def push(self, image: np.ndarray, t_s: float) -> None:
        w, h = self.frame_size
        if image.shape != (h, w, 3) or image.dtype != np.uint8:
            self.problems.append(f"frame {self.n}: shape {image.shape} dtype {image.dtype}")
        if not math.isfinite(t_s) or t_s <= self.last_t:
            self.problems.append(f"frame {self.n}: time {t_s} after {self.last_t}")
        self.last_t = t_s
        self.n += 1


def engine_check(path: str, *, width: int = 320) -> dict[str, Any]:
    """Run ``media.probe``, ``media.FramePump`` (one consumer ``width`` px wide, the analysers'
    size) and ``media.decode_audio`` on ``path``.

    Returns ``{step: ("ok", value) | ("invalid", message) | ("error", "Type: message")}`` for
    ``probe``/``pump``/``audio``, plus ``rss_growth`` (bytes of peak RSS above the RSS at the
    start, Linux) and ``tracemalloc_peak`` (bytes).
    """
    import tracemalloc

    from clipzy.engine import media
    from clipzy.engine.errors import InvalidMediaError

    try:
        with open("/proc/self/clear_refs", "w") as fh:  # reset the peak RSS to the current RSS
            fh.write("5")
    except OSError:
        pass
    rss0 = _status_kib("VmRSS")
    tracemalloc.start()
    out: dict[str, Any] = {}
    info_box: list = []

    def attempt(step: str, fn: Callable[[], Any]) -> None:
        try:
            out[step] = ("ok", fn())
        except InvalidMediaError as exc:
            out[step] = ("invalid", str(exc))
        except BaseException as exc:  # noqa: BLE001 - reported to the test as a failure
            out[step] = ("error", f"{type(exc).__name__}: {exc}")

    def do_probe() -> dict:
        info = media.probe(path)
        info_box.append(info)
        return info.metadata()

    def do_pump() -> dict:
        info = info_box[0] if info_box else None
        size = media.fit_width(info, width) if info is not None else (width, width * 9 // 16)
        checker = FrameChecker(size)
        n = media.FramePump(path, [checker], info=info).run()
        return {"frames": n, "pushed": checker.n, "problems": checker.problems[:5], "last_t": checker.last_t}

    def do_audio() -> dict | None:
        track = media.decode_audio(path, sample_rate=16000)
        if track is None:
            return None
        s = track.samples
        return {"shape": list(s.shape), "finite": bool(np.isfinite(s).all()),
                "peak": float(np.abs(s).max()) if s.size else 0.0, "layout": track.layout}

    try:
        attempt("probe", do_probe)
        attempt("pump", do_pump)
        attempt("audio", do_audio)
        out["tracemalloc_peak"] = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    out["rss_growth"] = (_status_kib("VmHWM") - rss0) * 1024
    return out


def build_corpus(directory: str | os.PathLike[str], *, seed: int = 7) -> list[HostileCase]:
    """Write every hostile case into ``directory`` and return the cases (≥ 25)."""
    d = os.fspath(directory)
    os.makedirs(d, exist_ok=True)
    rng = np.random.default_rng(seed)
    p: Callable[[str], str] = lambda name: os.path.join(d, name)  # noqa: E731
    cases: list[HostileCase] = []
    add = cases.append

    imgs = frames(25)
    stereo = tone(1.0, channels=2)
    # A sane reference clip, moov at the end (the mp4 muxer's default), GOP of 10 frames.
    base = encode(p("base.mp4"), imgs, fmt="mp4", options={"g": "10", "bf": "0"}, audio=stereo)
    base_bytes = _read(base)
    add(HostileCase("control_ok", base, "control.mp4", "accept",
                    truth={"width": W, "height": H, "codec": "h264", "format": "mp4", "has_audio": True,
                           "audio_codec": "aac", "audio_sample_rate": 48000, "rotation": 0,
                           "duration_seconds": (0.95, 1.05), "frame_rate": (24.9, 25.1)},
                    note="the undamaged reference every other case is cut from"))

    # -- truncation ----------------------------------------------------------------
    for pct in (10, 50, 90):
        path = _write(p(f"trunc{pct}.mp4"), base_bytes[: len(base_bytes) * pct // 100])
        add(HostileCase(f"truncated_{pct}pct_mp4", path, f"trunc{pct}.mp4", "reject",
                        note="moov is at the end, so any cut loses the index"))
    faststart = encode(p("faststart.mp4"), imgs, fmt="mp4", options={"g": "10", "bf": "0"}, audio=stereo,
                       mux_options={"movflags": "+faststart"})
    fs = _read(faststart)
    add(HostileCase("truncated_50pct_faststart_mp4", _write(p("fs_trunc50.mp4"), fs[: len(fs) // 2]), "fs50.mp4",
                    "either", truth={"width": W, "height": H, "codec": "h264", "duration_seconds": (0.0, 1.05)},
                    note="index first, half the media data missing"))
    mkv = _read(encode(p("base.mkv"), imgs, fmt="matroska", options={"g": "10", "bf": "0"}, audio=stereo))
    add(HostileCase("truncated_50pct_mkv", _write(p("trunc50.mkv"), mkv[: len(mkv) // 2]), "trunc50.mkv", "either",
                    truth={"width": W, "height": H, "codec": "h264", "duration_seconds": (0.0, 1.05)},
                    note="Matroska is streamable: the first half may still decode"))

    # header only: the faststart index with no media data at all
    mdat = next(off for k, off, _pay in mp4_boxes(fs) if k == b"mdat")
    add(HostileCase("header_only_mp4", _write(p("header_only.mp4"), fs[: mdat + 8]), "header.mp4", "reject",
                    note="ftyp + moov, mdat header, no samples"))
    ebml_head = mkv[: 64]
    add(HostileCase("header_only_mkv", _write(p("header_only.mkv"), ebml_head), "header.mkv", "reject",
                    note="64 bytes of EBML header"))

    # -- not video at all --------------------------------------------------------
    for ext in ("mp4", "mov", "avi", "mkv", "webm"):
        path = _write(p(f"random.{ext}"), rng.integers(0, 256, 32 * 1024, dtype=np.uint8).tobytes())
        add(HostileCase(f"random_bytes_{ext}", path, f"random.{ext}", "reject"))
    add(HostileCase("empty_file", _write(p("empty.mp4"), b""), "empty.mp4", "reject"))
    add(HostileCase("audio_only_m4a_as_mp4", write_audio_mp4(p("tone.m4a"), tone(1.0, channels=2)), "song.mp4", "reject",
                    note="AAC in MP4, no video stream"))
    add(HostileCase("wav_named_mp4", write_wav(p("tone.wav"), tone(1.0)[:, 0]), "voice.mp4", "reject",
                    note="RIFF/WAVE bytes under a video extension"))
    add(HostileCase("text_named_mkv", _write(p("notes.mkv"), b"#!/bin/sh\necho hello\n" * 100), "notes.mkv", "reject"))

    # -- odd but valid video -------------------------------------------------------
    add(HostileCase("single_frame", encode(p("one.mp4"), imgs[:1], fmt="mp4"), "one.mp4", "accept",
                    truth={"width": W, "height": H, "codec": "h264", "has_audio": False, "duration_seconds": (0.0, 0.1)}))
    add(HostileCase("one_by_one_pixel", encode(p("1x1.mkv"), [np.full((1, 1, 3), 200, np.uint8)] * 10, fmt="matroska",
                                                codec="libx264", pix_fmt="yuv444p"), "dot.mkv", "reject",
                    note="x264 4:4:4 allows 1x1; an apply job on it failed PROCESSING_ERROR before probe refused it"))
    add(HostileCase("two_by_two_pixels", encode(p("2x2.mkv"), [np.full((2, 2, 3), 90, np.uint8)] * 10, fmt="matroska",
                                                 codec="libx264", pix_fmt="yuv444p"), "tiny.mkv", "accept",
                    truth={"width": 2, "height": 2}, note="the smallest frame accepted"))
    add(HostileCase("odd_size_33x17", encode(p("33x17.mkv"), frames(10, 33, 17), fmt="matroska", codec="libx264",
                                              pix_fmt="yuv444p"), "odd.mkv", "accept",
                    truth={"width": 33, "height": 17, "codec": "h264"}))
    add(HostileCase("odd_size_ffv1_35x19", encode(p("35x19.avi"), frames(10, 35, 19), fmt="avi", codec="ffv1",
                                                   pix_fmt="yuv420p"), "lossless.avi", "accept",
                    truth={"width": 35, "height": 19, "codec": "ffv1", "format": "avi"}))
    add(HostileCase("extreme_aspect_16_to_1", encode(p("banner.mkv"), frames(10, 256, 16), fmt="matroska"),
                    "banner.mkv", "reject", note="256x16: the analysers' 320x20 frames crashed OpenCV's DIS flow"))
    add(HostileCase("extreme_tall_16x4096", encode(p("tall.mkv"), frames(3, 16, 4096), fmt="matroska"), "tall.mkv",
                    "reject", note="65 kpixels, but 320x81920 analysis frames: 1.5 GB of RAM for a 60 kB file"))
    add(HostileCase("aspect_8_to_1", encode(p("wide8.mkv"), frames(10, 256, 32), fmt="matroska"), "wide8.mkv", "accept",
                    truth={"width": 256, "height": 32}, note="the most elongated frame accepted"))
    vfr_pts = [0, 10, 15, 100, 101, 102, 400, 410, 900, 1500]  # ms
    add(HostileCase("variable_frame_rate", encode(p("vfr.mkv"), imgs[:10], fmt="matroska", pts=vfr_pts,
                                                  time_base=Fraction(1, 1000), options={"bf": "0"}), "vfr.mkv", "accept",
                    truth={"width": W, "height": H, "duration_seconds": (1.45, 1.6), "frame_rate": (0.1, 1000.0)},
                    note="10 frames at irregular times over 1.5 s"))
    for rot in (90, 180, 270):
        swapped = rot in (90, 270)
        add(HostileCase(f"rotation_{rot}", write_video(p(f"rot{rot}.mp4"), imgs[:10], fps=FPS, rotation=rot),
                        f"phone{rot}.mp4", "accept",
                        truth={"width": H if swapped else W, "height": W if swapped else H, "rotation": rot}))
    add(HostileCase("h264_10bit", encode(p("hi10.mp4"), imgs[:10], fmt="mp4", pix_fmt="yuv420p10le"), "hi10.mp4", "accept",
                    truth={"width": W, "height": H, "codec": "h264"}))
    add(HostileCase("hevc", encode(p("hevc.mp4"), imgs[:10], fmt="mp4", codec="libx265"), "hevc.mp4", "accept",
                    truth={"width": W, "height": H, "codec": "hevc"}))
    add(HostileCase("eight_audio_channels", encode(p("71.mkv"), imgs[:10], fmt="matroska", audio=tone(0.4, channels=8),
                                                   audio_codec="flac", layout="7.1"), "surround.mkv", "accept",
                    truth={"has_audio": True, "audio_codec": "flac", "audio_sample_rate": 48000}))
    add(HostileCase("audio_24_channels", encode(p("222.mkv"), imgs[:5], fmt="matroska",
                                                audio=tone(0.2, sample_rate=8000, channels=24), sample_rate=8000,
                                                audio_codec="pcm_s16le", layout="22.2"), "immersive.mkv", "accept",
                    truth={"has_audio": True, "audio_codec": "pcm_s16le", "audio_sample_rate": 8000},
                    note="22.2 layout: past the 8 data pointers of a planar frame"))
    add(HostileCase("audio_8khz_mono", encode(p("8k.mp4"), imgs[:10], fmt="mp4", audio=tone(0.4, sample_rate=8000),
                                              sample_rate=8000), "phone_call.mp4", "accept",
                    truth={"has_audio": True, "audio_codec": "aac", "audio_sample_rate": 8000}))
    add(HostileCase("audio_much_longer", encode(p("longaudio.mp4"), imgs[:5], fmt="mp4", audio=tone(6.0, channels=2)),
                    "longaudio.mp4", "accept",
                    truth={"width": W, "height": H, "has_audio": True, "duration_seconds": (0.15, 6.1)},
                    note="0.2 s of video under 6 s of audio"))
    add(HostileCase("audio_outlasts_duration_limit",
                    encode(p("audio_bomb.mp4"), imgs[:5], fmt="mp4", audio=np.zeros((90 * 8000, 1), np.float32),
                           audio_codec="flac", sample_rate=8000), "audio_bomb.mp4", "reject", codes=("MEDIA_LIMIT_EXCEEDED",),
                    note="0.2 s of video over 90 s of silent audio; refused with MAX_VIDEO_DURATION_SECONDS=60 (the tests'"
                         " setting): the duration limit counts every stream, since the audio is decoded whole"))
    add(HostileCase("audio_much_shorter", encode(p("shortaudio.mp4"), imgs, fmt="mp4", audio=tone(0.05, channels=2)),
                    "shortaudio.mp4", "accept",
                    truth={"width": W, "height": H, "has_audio": True, "duration_seconds": (0.95, 1.05)}))
    big_w, big_h = 3856, 2176  # 8.39 Mpixels, just over the default MAX_VIDEO_PIXELS (3840 x 2160)
    add(HostileCase("over_pixel_limit", encode(p("big.mp4"), [np.zeros((big_h, big_w, 3), np.uint8)], fmt="mp4"),
                    "big.mp4", "reject", codes=("MEDIA_LIMIT_EXCEEDED",), note="one black frame, real size"))
    add(HostileCase("extension_lies_mp4_as_avi", _write(p("really_mp4.avi"), base_bytes), "really_mp4.avi", "accept",
                    truth={"format": "mp4", "codec": "h264", "width": W, "height": H},
                    note="the format comes from the bytes, not the name"))

    # -- streams that start without a keyframe -------------------------------------
    gop_src = encode(p("gop.mp4"), frames(30), fmt="mp4", options={"g": "12", "bf": "0", "sc_threshold": "0"})
    remux_from(gop_src, p("no_key_start.mp4"), skip_packets=3)
    add(HostileCase("starts_mid_gop", p("no_key_start.mp4"), "midgop.mp4", "either",
                    truth={"width": W, "height": H, "codec": "h264"},
                    note="the first 3 packets (the keyframe and 2 P frames) cut off; keyframes follow at 12 and 24"))
    one_gop = encode(p("onegop.mp4"), frames(20), fmt="mp4", options={"g": "300", "bf": "0", "sc_threshold": "0"})
    remux_from(one_gop, p("no_key_at_all.mp4"), skip_packets=1)
    add(HostileCase("no_keyframe_at_all", p("no_key_at_all.mp4"), "nokey.mp4", "either",
                    truth={"width": W, "height": H, "codec": "h264"},
                    note="only P frames: nothing references a decoded picture"))

    # -- damaged bytes -------------------------------------------------------------
    flipped = bytearray(base_bytes)
    mdat_off = next(off for k, off, _pay in mp4_boxes(flipped) if k == b"mdat")
    mid = mdat_off + (len(flipped) - mdat_off) // 3
    idx = mid + rng.choice(len(flipped) // 3, 400, replace=False)
    for i in idx:
        flipped[int(i)] ^= 0xFF
    add(HostileCase("bytes_flipped_mid_stream", _write(p("flipped.mp4"), flipped), "flipped.mp4", "either",
                    truth={"width": W, "height": H, "codec": "h264"}, note="400 bytes inverted inside mdat"))
    zeroed = bytearray(mkv)
    zeroed[len(zeroed) // 3: len(zeroed) // 3 + 2048] = bytes(2048)
    add(HostileCase("zeroed_block_mkv", _write(p("zeroed.mkv"), zeroed), "zeroed.mkv", "either",
                    truth={"width": W, "height": H, "codec": "h264"}, note="2 kB of zeros in the middle of a cluster"))

    for name, src_name, fmt, codec in (("hevc", "hevc_src.mp4", "mp4", "libx265"),
                                       ("vp9", "vp9_src.webm", "webm", "libvpx-vp9")):
        opts = {"deadline": "realtime", "cpu-used": "8", "g": "10"} if codec == "libvpx-vp9" else None
        src = _read(encode(p(src_name), imgs, fmt=fmt, codec=codec, options=opts))
        damaged = bytearray(src)
        for i in rng.choice(np.arange(len(src) // 3, len(src) - 64), 200, replace=False):
            damaged[int(i)] ^= 0xA5
        ext = src_name.rsplit(".", 1)[1]
        add(HostileCase(f"bytes_flipped_{name}", _write(p(f"flipped_{src_name}"), damaged), f"flipped.{ext}", "either",
                        truth={"width": W, "height": H}, note=f"200 bytes XORed in the last two thirds of a {name} stream"))
        add(HostileCase(f"truncated_50pct_{name}", _write(p(f"trunc_{src_name}"), src[: len(src) // 2]),
                        f"half.{ext}", "either", truth={"width": W, "height": H}))

    # -- lying headers -------------------------------------------------------------
    tk = bytearray(base_bytes)
    assert patch_tkhd_size(tk, 60000, 60000) == 1
    add(HostileCase("absurd_tkhd_size", _write(p("tkhd.mp4"), tk), "tkhd.mp4", "either", codes=REJECT_ANY,
                    truth={"width": W, "height": H},
                    note="track header claims 60000x60000; the coded stream is 64x48"))
    mj = encode(p("mjpeg.avi"), imgs[:5], fmt="avi", codec="mjpeg", pix_fmt="yuvj420p")
    sof = _read(mj)
    assert patch_jpeg_sof(sof, 16000, 16000) >= 5
    add(HostileCase("absurd_jpeg_sof_16000", _write(p("sof.avi"), sof), "sof.avi", "reject", codes=REJECT_ANY,
                    note="each JPEG claims 16000x16000 (256 Mpixels) in 5 kB"))
    m4 = encode(p("mpeg4.avi"), imgs[:10], fmt="avi", codec="mpeg4")
    avih = _read(m4)
    assert patch_avi_size(avih, 30000, 30000) >= 1
    add(HostileCase("absurd_avi_header_size", _write(p("avih.avi"), avih), "avih.avi", "either", codes=REJECT_ANY,
                    truth={"width": W, "height": H, "codec": "mpeg4", "format": "avi"},
                    note="AVI headers claim 30000x30000; the MPEG-4 VOL says 64x48"))
    long_mkv = bytearray(mkv)
    assert patch_mkv_duration(long_mkv, 3.6e10) == 1  # 10 000 hours, in ms
    add(HostileCase("long_declared_duration_mkv", _write(p("forever.mkv"), long_mkv), "forever.mkv", "either",
                    codes=("MEDIA_LIMIT_EXCEEDED",), truth={"width": W, "height": H, "duration_seconds": (0.9, 1.1)},
                    note="Info/Duration claims 10 000 h for a 1 s, 30 kB file"))
    long_mp4 = bytearray(base_bytes)
    _patch_full_box_durations(long_mp4, b"mvhd", 0xFFFFFF00)
    _patch_full_box_durations(long_mp4, b"mdhd", 0xFFFFFF00)
    add(HostileCase("long_declared_duration_mp4", _write(p("forever.mp4"), long_mp4), "forever.mp4", "either",
                    codes=("MEDIA_LIMIT_EXCEEDED",), truth={"width": W, "height": H, "duration_seconds": (0.9, 1.1)},
                    note="mvhd and mdhd durations set to 2^32 - 256 ticks"))
    stts = bytearray(base_bytes)
    assert patch_stts_last_delta(stts, 0x7FFFFFFF) >= 1
    add(HostileCase("stts_huge_sample_duration", _write(p("stts.mp4"), stts), "stts.mp4", "either",
                    codes=("MEDIA_LIMIT_EXCEEDED",), truth={"width": W, "height": H},
                    note="every sample of the last stts run lasts 2^31 ticks"))

    # -- non-monotonic timestamps --------------------------------------------------
    nm = _read(encode(p("mono.mkv"), frames(20), fmt="matroska", options={"bf": "0", "g": "5"}))
    offs = mkv_block_timecode_offsets(nm, track=1)
    assert len(offs) >= 20
    for a, b in ((5, 12), (8, 9), (15, 3)):  # swap pairs of relative timecodes: time goes backwards
        ta, tb = nm[offs[a]:offs[a] + 2], nm[offs[b]:offs[b] + 2]
        nm[offs[a]:offs[a] + 2], nm[offs[b]:offs[b] + 2] = tb, ta
    add(HostileCase("non_monotonic_timestamps", _write(p("backwards.mkv"), nm), "backwards.mkv", "accept",
                    truth={"width": W, "height": H, "codec": "h264"},
                    note="SimpleBlock timecodes swapped so that timestamps go backwards"))
    dup = bytearray(nm)
    for o in offs[10:]:
        dup[o:o + 2] = b"\x00\x00"
    add(HostileCase("duplicate_timestamps", _write(p("dup.mkv"), dup), "dup.mkv", "accept",
                    truth={"width": W, "height": H, "codec": "h264"},
                    note="the second half of the frames all claim time 0"))
    return cases
