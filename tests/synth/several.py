"""Several clips, a template in beats and a song: media with exact truth, and a reader that
recovers the edit from the rendered pixels alone.

:func:`make_case` writes
* footage clips from different real scenes, each one long take (so that several output
  shots come from one take and every cut inside it must be made to read), one black clip
  and one defocused clip;
* a template whose shots last known numbers of beats of its 120 BPM drums, joined by
  dissolves centred on the downbeats and hard cuts elsewhere;
* a song at another tempo with a quiet intro and a loud section.

:class:`EditReader` identifies every output frame by the source frame it shows (normalised
correlation of blurred grey thumbnails, at the full frame and at punch-in crops), finds the
shots as runs of one clip playing forward in one framing, and locates each boundary from how
well each side (continued at its own clock) still matches: a hard cut where the incoming
side takes over, a dissolve where the outgoing side stops matching cleanly.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import av
import cv2
import numpy as np

from .audio import drum_track
from .video import shared_media_frames, write_video, write_wav

FPS = 25
SIZE = (320, 180)
TEMPLATE_BPM = 100.0  # 15 frames a beat at 25 fps
TEMPLATE_BEATS = [4, 2, 2, 4, 4, 2, 2, 4]  # shot lengths in template beats (24 beats = 14.4 s)
DISSOLVE_FRAMES = 10  # the template's dissolves (0.4 s), centred on downbeats
SONG_BPM = 90.0
SONG_INTRO_BEATS = 16  # quiet intro, then the loud section
SONG_LOUD_BEATS = 48
#: (name, source file, start s, seconds): the usable clips, in the user's order
CLIPS = [("cockatoo", "cockatoo.mp4", 0.0, 12.0), ("bunny", "bigbuckbunny.mp4", 0.0, 5.2),
         ("wanna", "wannaworktogether.mp4", 20.0, 2.0)]
THUMB = (64, 36)
OFFSET_TOLERANCE = 4  # frames a match may wander from its run's offset
ZOOM_MARGIN = 0.02  # correlation a punch-in view must beat the full frame by
MIX_DROP = 0.02  # correlation under a side's clean level that marks a frame as mixed
MIN_RUN = 4  # frames a shot shows at least (shorter runs are mixed frames of a transition)
CONTINUE_MARGIN = 0.05  # correlation the continuing match may trail the best one by


@dataclass
class Case:
    """The files of a several-clip case and their truth (seconds)."""

    template: str
    clips: list[str]  # the footage in the user's order: usable ones, the black one, the defocused one
    names: list[str]
    usable: list[bool]
    song: str
    song_audio: np.ndarray  # mono float32 at 48 kHz
    song_beats_s: np.ndarray
    song_downbeats_s: np.ndarray
    loud_from_s: float  # where the loud section starts
    template_cuts: list[tuple[float, str]] = field(default_factory=list)  # (time, "cut"/"dissolve")


def join_shots(shots: list[list[np.ndarray]], lengths: list[int], kinds: list[str], dissolve: int) -> list[np.ndarray]:
    """Shots of ``lengths`` frames joined by hard cuts or by linear dissolves of ``dissolve``
    frames centred on the boundary (``kinds[j]`` for boundary j). Each shot's frames carry
    ``dissolve // 2`` spare frames before and after its nominal span, shown during dissolves."""
    h = dissolve // 2
    starts = np.concatenate([[0], np.cumsum(lengths)]).astype(int)
    out: list[np.ndarray] = []
    for i, n in enumerate(lengths):
        out += shots[i][h:h + n]
    for j, kind in enumerate(kinds):
        if kind != "dissolve":
            continue
        b = int(starts[j + 1])
        for k in range(dissolve):
            t = b - h + k
            a = shots[j][h + t - int(starts[j])]
            c = shots[j + 1][h + t - b]
            out[t] = _blend(a, c, (k + 1) / (dissolve + 1))
    return out


def _blend(a: np.ndarray, b: np.ndarray, w: float) -> np.ndarray:
    return np.clip((1 - w) * a.astype(np.float32) + w * b.astype(np.float32), 0, 255).astype(np.uint8)


def _frames(media: Path, name: str, start_s: float, count: int) -> list[np.ndarray]:
    fr = shared_media_frames(str(media / name), start_s=start_s, count=count, size=SIZE)
    return fr + [fr[-1]] * (count - len(fr))


def make_template(path: str, media: Path) -> list[tuple[float, str]]:
    """The template: shots of TEMPLATE_BEATS beats at TEMPLATE_BPM over drums, dissolves on the
    downbeats, cuts elsewhere; returns its boundaries (seconds, kind)."""
    beat_f = int(round(60.0 / TEMPLATE_BPM * FPS))
    lengths = [b * beat_f for b in TEMPLATE_BEATS]
    sources = [("birds.mp4", 0.0), ("endcard_fade.mp4", 1.0), ("wannaworktogether.mp4", 100.0),
               ("cockatoo.mp4", 9.0), ("wannaworktogether.mp4", 140.0), ("bigbuckbunny.mp4", 3.0),
               ("wannaworktogether.mp4", 160.0), ("cockatoo.mp4", 4.0)]
    h = DISSOLVE_FRAMES // 2
    shots = [_frames(media, name, st, n + 2 * h) for (name, st), n in zip(sources, lengths)]
    beats_at = np.cumsum(TEMPLATE_BEATS)[:-1]
    kinds = ["dissolve" if b % 4 == 0 else "cut" for b in beats_at]
    drums = drum_track(TEMPLATE_BPM, sum(lengths) / FPS, sr=48000, level_dbfs=-3.0)
    write_video(path, join_shots(shots, lengths, kinds, DISSOLVE_FRAMES), fps=FPS,
                audio=np.stack([drums.audio] * 2, axis=1))
    return [(float(b) * 60.0 / TEMPLATE_BPM, k) for b, k in zip(beats_at, kinds)]


def make_song(path: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """The song: SONG_INTRO_BEATS quiet beats, then SONG_LOUD_BEATS loud ones, at SONG_BPM;
    returns (mono samples, beats, downbeats, the loud section's start), seconds."""
    period = 60.0 / SONG_BPM
    intro = drum_track(SONG_BPM, SONG_INTRO_BEATS * period + 1e-6, sr=48000, hats=False, level_dbfs=-32.0, seed=3)
    loud = drum_track(SONG_BPM, SONG_LOUD_BEATS * period + 1e-6, sr=48000, level_dbfs=-4.0, seed=4)
    n_intro = int(round(SONG_INTRO_BEATS * period * 48000))
    audio = np.concatenate([intro.audio[:n_intro], loud.audio]).astype(np.float32)
    loud_s = n_intro / 48000
    beats = np.concatenate([intro.beat_times_s[:SONG_INTRO_BEATS], loud_s + loud.beat_times_s])
    downbeats = beats[::4]
    write_wav(path, np.stack([audio] * 2, axis=1))
    return audio, beats, downbeats, loud_s


def make_case(d: Path, media: Path) -> Case:
    """Every file of the case under ``d`` (see the module docstring)."""
    paths, names = [], []
    rng = np.random.default_rng(5)
    for name, src, st, secs in CLIPS:
        p = str(d / f"{name}.mp4")
        noise = (0.02 * rng.standard_normal((int(secs * 48000), 2))).astype(np.float32)
        write_video(p, _frames(media, src, st, int(round(secs * FPS))), fps=FPS, audio=noise)
        paths.append(p)
        names.append(name)
    black = str(d / "black.mp4")
    write_video(black, [np.zeros((SIZE[1], SIZE[0], 3), np.uint8)] * (3 * FPS), fps=FPS)
    soft = str(d / "soft.mp4")
    sigma = 0.02 * SIZE[0]
    write_video(soft, [cv2.GaussianBlur(f, (0, 0), sigma) for f in _frames(media, "wannaworktogether.mp4", 60.0, 4 * FPS)],
                fps=FPS)
    template = str(d / "template.mp4")
    cuts = make_template(template, media)
    song = str(d / "song.wav")
    audio, beats, downbeats, loud = make_song(song)
    return Case(template, paths + [black, soft], names + ["black", "soft"], [True] * len(CLIPS) + [False, False],
                song, audio, beats, downbeats, loud, cuts)


# -- reading the edit back from the pixels --------------------------------------------


def _vec(img: np.ndarray) -> np.ndarray:
    """Zero-mean, unit-norm blurred grey thumbnail of an RGB image."""
    g = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY).astype(np.float32)
    g = cv2.GaussianBlur(cv2.resize(g, THUMB, interpolation=cv2.INTER_AREA), (0, 0), 1.0).ravel()
    g -= g.mean()
    return g / max(1e-6, float(np.linalg.norm(g)))


def _views(img: np.ndarray, zoom: float = 1.25, steps: int = 5) -> list[np.ndarray]:
    """The full frame and a grid of ``zoom``× punch-in crops of it."""
    h, w = img.shape[:2]
    cw, ch = int(round(w / zoom)), int(round(h / zoom))
    out = [img]
    for fy in np.linspace(0, 1, steps):
        for fx in np.linspace(0, 1, steps):
            x, y = int(round(fx * (w - cw))), int(round(fy * (h - ch)))
            out.append(img[y:y + ch, x:x + cw])
    return out


def read_video(path: str, size: tuple[int, int] | None = SIZE) -> list[np.ndarray]:
    out = []
    with av.open(os.fspath(path)) as c:
        for f in c.decode(video=0):
            out.append(f.reformat(width=size[0], height=size[1]).to_ndarray(format="rgb24") if size else
                       f.to_ndarray(format="rgb24"))
    return out


@dataclass
class Shot:
    """One output shot read from the pixels: output frames [first, last], the clip shown and
    the clip frame shown at ``first``; ``start``: its boundary's first frame (cut: = first;
    dissolve: where the mix begins), ``kind`` of that boundary."""

    first: int
    last: int
    clip: int
    src_first: int
    start: float
    kind: str
    view: int = 0  # 0: full frame; else a punch-in crop (:func:`_views`)


class EditReader:
    """Identify output frames against the source clips (module docstring)."""

    def __init__(self, clips: list[str]) -> None:
        self.clip_frames = [read_video(p) for p in clips]
        rows, self.keys = [], []
        for c, frames in enumerate(self.clip_frames):
            for k, f in enumerate(frames):
                if f.max() < 30:  # black: no picture to correlate
                    continue
                for v, view in enumerate(_views(f)):
                    rows.append(_vec(view))
                    self.keys.append((c, k, v))
        self.bank = np.stack(rows)

    def identify(self, frames: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Per output frame: (clip, clip frame, view, correlation) of its match (view 0: the full
        frame; 1..25: punch-in crops, :func:`_views`, kept only when clearly better). Tracked: the continuation of the previous
        frame's match (next clip frame, same view) is kept while it scores within
        :data:`CONTINUE_MARGIN` of the best match — a long take has look-alike frames."""
        out = np.stack([_vec(f) for f in frames])
        sim = out @ self.bank.T
        index = {k: i for i, k in enumerate(self.keys)}
        chosen = []
        for t in range(len(frames)):
            best = int(np.argmax(sim[t]))
            c, k, v = self.keys[best]
            full = index.get((c, k, 0))
            if v != 0 and full is not None and sim[t, full] >= sim[t, best] - ZOOM_MARGIN:
                best = full  # a punch-in must match clearly better than the full frame
            if chosen:
                c, k, v = self.keys[chosen[-1]]
                cont = index.get((c, k + 1, v))
                if cont is not None and sim[t, cont] >= sim[t, best] - CONTINUE_MARGIN:
                    best = cont
            chosen.append(best)
        keys = np.asarray(self.keys)[chosen]
        return keys[:, 0], keys[:, 1], keys[:, 2], sim[np.arange(len(frames)), chosen]

    def view(self, clip: int, frame: int, view: int) -> np.ndarray:
        """The picture of a match, at the output size."""
        img = _views(self.clip_frames[clip][frame])[view]
        return cv2.resize(img, SIZE, interpolation=cv2.INTER_AREA)

    def shots(self, frames: list[np.ndarray]) -> list[Shot]:
        """The output's shots: runs of frames showing one clip at one offset (clip frame −
        output frame, ±:data:`OFFSET_TOLERANCE`: the clips play at the output's rate) and one
        framing (full frame or punched in); a frame
        that disagrees with its run starts a new one only when the next frames agree with it
        (else it is an ambiguous match, skipped). Each boundary is then typed and placed by
        :meth:`_boundary`."""
        clip, src, view, score = self.identify(frames)
        self.last = (clip, src, view, score)
        off = src - np.arange(len(frames))
        runs: list[list[int]] = []

        def agrees(t: int, run: list[int]) -> bool:
            return (clip[t] == clip[run[0]] and (view[t] == 0) == (view[run[0]] == 0)
                    and abs(int(off[t]) - int(np.median(off[run]))) <= OFFSET_TOLERANCE)

        for t in range(len(frames)):
            if runs and agrees(t, runs[-1]):
                runs[-1].append(t)
                continue
            ahead = [u for u in range(t + 1, min(len(frames), t + 4))]
            if not runs or all(clip[u] == clip[t] and (view[u] == 0) == (view[t] == 0)
                               and abs(int(off[u]) - int(off[t])) <= OFFSET_TOLERANCE for u in ahead):
                runs.append([t])
        for i in range(len(runs) - 1, 0, -1):  # a run this short is a mixed or ambiguous stretch
            if len(runs[i]) < MIN_RUN:
                del runs[i]
        shots = []
        for i, r in enumerate(runs):
            start, kind = float(r[0]), "cut"
            if i > 0:
                start, kind = self._boundary(frames, runs[i - 1], r)
            v = int(np.bincount(view[r]).argmax())
            shots.append(Shot(r[0], r[-1], int(clip[r[0]]), int(src[r[0]]), start, kind, v))
        return shots

    def _side(self, run: list[int]) -> tuple[int, int, int]:
        """(clip, offset, view) a run shows."""
        clip, src, view, _ = self.last
        off = src[run] - np.asarray(run)
        return int(clip[run[0]]), int(np.median(off)), int(np.bincount(view[run]).argmax())

    def side_scores(self, frames: list[np.ndarray], before: list[int], after: list[int],
                    reach: int = 12) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(output frames, correlation with the outgoing side, with the incoming side) around a
        boundary, each side continued at its own offset and view."""
        (ca, oa, va), (cb, ob, vb) = self._side(before), self._side(after)
        ts, sa, sb = [], [], []
        for t in range(max(0, after[0] - reach), min(len(frames), after[0] + reach)):
            ia, ib = t + oa, t + ob
            if 0 <= ia < len(self.clip_frames[ca]) and 0 <= ib < len(self.clip_frames[cb]):
                o = _vec(frames[t])
                ts.append(t)
                sa.append(float(o @ _vec(self.view(ca, ia, va))))
                sb.append(float(o @ _vec(self.view(cb, ib, vb))))
        return np.asarray(ts, int), np.asarray(sa), np.asarray(sb)

    def _boundary(self, frames: list[np.ndarray], before: list[int], after: list[int]) -> tuple[float, str]:
        """(first frame of the boundary, "cut" or "dissolve"): the outgoing side's correlation
        falls below its clean level (its median before the boundary, − :data:`MIX_DROP`) at the
        first frame of the boundary; a dissolve holds at least 3 frames that match neither
        side cleanly, a cut none (the incoming side takes over at once)."""
        ts, sa, sb = self.side_scores(frames, before, after)
        if ts.size == 0:
            return float(after[0]), "cut"
        pre = ts < before[-1] - 1
        post = ts > after[0] + 1
        clean_a = float(np.median(sa[pre])) if pre.any() else float(sa.max())
        clean_b = float(np.median(sb[post])) if post.any() else float(sb.max())
        mixed = (sa < clean_a - MIX_DROP) & (sb < clean_b - MIX_DROP)
        drop = np.nonzero((sa < clean_a - MIX_DROP) & (ts > before[0]))[0]
        start = int(ts[drop[0]]) if drop.size else after[0]
        if int(mixed.sum()) >= 3:
            return float(start), "dissolve"
        take = np.nonzero(sb > sa)[0]
        return float(ts[take[0]]) if take.size else float(after[0]), "cut"


def _grey(img: np.ndarray) -> np.ndarray:
    g = cv2.cvtColor(img, cv2.COLOR_RGB2GRAY).astype(np.float32)
    return cv2.resize(g, THUMB, interpolation=cv2.INTER_AREA).ravel()
