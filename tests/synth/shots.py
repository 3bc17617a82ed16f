"""Evaluation clips for shot/transition detection, made in code from real footage.

Real shots come from the shared media clips (different clips or distant parts of one),
scaled to 320x180, and are joined with hard cuts, dissolves, fades through black and
wipes at known frames with known easing. Ground truth follows the engine's convention:
a cut starts and ends at the first frame of the new shot; a gradual transition spans
from its first mixed frame to the first clean frame of the new shot.

A second, independent set (:data:`SECOND_CLIPS`, :func:`make_second_clip`) is built the same
way from other footage (:data:`SECOND_FOOTAGE`: none of the shared clips), with seeded
transition placement, lengths and easings, soft and diagonal wipes, fades through black or
white with held frames, at 24, 25, 29.97, 30 and 50 fps and five frame sizes. Its footage is
fetched at run time by bench/shots.py (never stored in the repository).
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from .video import shared_media_frames, write_video

SIZE = (320, 180)
FPS = 25

_EASE = {
    "linear": lambda x: x,
    "ease-in": lambda x: x * x,
    "ease-out": lambda x: 1 - (1 - x) ** 2,
    "ease-in-out": lambda x: x * x * (3 - 2 * x),
}

# (file, start_s): shots of real footage; each is read at most 95 frames long
SOURCES = {
    "cock0": ("cockatoo.mp4", 0.3), "cock1": ("cockatoo.mp4", 4.0), "cock2": ("cockatoo.mp4", 7.6),
    "cock3": ("cockatoo.mp4", 11.0), "bbb0": ("bigbuckbunny.mp4", 0.0), "bbb1": ("bigbuckbunny.mp4", 2.7),
    "birds": ("birds.mp4", 0.0), "real": ("realshort.mp4", 0.0), "card0": ("endcard_fade.mp4", 0.2),
    "card1": ("endcard_fade.mp4", 3.2),
}


@dataclass(frozen=True)
class TruthTransition:
    start_frame: int
    end_frame: int  # first clean frame of the new shot (== start_frame for a cut)
    type: str
    easing: str

    def span_s(self, fps: float) -> tuple[float, float]:
        return self.start_frame / fps, self.end_frame / fps


@dataclass(frozen=True)
class EvalClip:
    path: str
    fps: float
    frames: int
    transitions: list[TruthTransition]


@functools.lru_cache(maxsize=None)
def _source(key: str, media_dir: str) -> np.ndarray:
    name, start = SOURCES[key]
    frames = shared_media_frames(os.path.join(media_dir, name), start_s=start, count=95, size=SIZE)
    return np.stack(frames)


# Each plan: list of shots (source, frames shown before the transition out) and the
# transitions between them: (type, frames, easing, direction-or-fade split).
PLANS = {
    "mix_a": (
        [("cock0", 34), ("bbb0", 30), ("cock1", 32), ("card0", 30), ("cock2", 28), ("birds", 10),
         ("bbb1", 30), ("real", 18), ("cock3", 24), ("card1", 36)],
        [("cut", 0, "linear", None), ("dissolve", 12, "linear", None), ("fade", 16, "linear", 8),
         ("wipe", 12, "linear", "right"), ("cut", 0, "linear", None), ("dissolve", 20, "ease-in-out", None),
         ("cut", 0, "linear", None), ("wipe", 18, "ease-in", "down"), ("fade", 16, "ease-out", 10)],
    ),
    "mix_b": (
        [("bbb0", 30), ("cock3", 30), ("card1", 26), ("cock0", 30), ("card0", 30), ("cock1", 14),
         ("bbb1", 30), ("cock2", 32), ("real", 20), ("birds", 20)],
        [("dissolve", 8, "linear", None), ("cut", 0, "linear", None), ("wipe", 15, "linear", "left"),
         ("fade", 24, "linear", 12), ("dissolve", 37, "ease-out", None), ("cut", 0, "linear", None),
         ("dissolve", 18, "ease-in", None), ("cut", 0, "linear", None), ("wipe", 10, "linear", "up")],
    ),
}


def _wipe_mask(h: int, w: int, p: float, direction: str) -> np.ndarray:
    """True where the new shot shows when a wipe in ``direction`` has progressed p (0..1)."""
    ys, xs = np.mgrid[0:h, 0:w]
    if direction == "right":
        return xs < p * w
    if direction == "left":
        return xs >= (1 - p) * w
    if direction == "down":
        return ys < p * h
    if direction == "up":
        return ys >= (1 - p) * h
    raise ValueError(f"unknown wipe direction {direction}")


def compose(plan: str, media_dir: str | os.PathLike[str]) -> tuple[np.ndarray, list[TruthTransition]]:
    """Frames [n, 180, 320, 3] uint8 of ``plan`` and its true transitions."""
    shots, trans = PLANS[plan]
    if len(trans) != len(shots) - 1:
        raise ValueError("a plan needs one transition between each pair of shots")
    media_dir = os.fspath(media_dir)
    out: list[np.ndarray] = []
    truth: list[TruthTransition] = []
    pos = 0  # read position in the current shot's source
    for i, (key, length) in enumerate(shots):
        src = _source(key, media_dir)
        out.extend(src[pos:pos + length])
        if i == len(shots) - 1:
            break
        kind, n, easing, extra = trans[i]
        nxt = _source(shots[i + 1][0], media_dir)
        start = len(out)
        ease = _EASE[easing]
        a = src[pos + length:pos + length + n].astype(np.float32)
        b = nxt[:n].astype(np.float32)
        if len(a) < n or len(b) < n:
            raise ValueError(f"source too short for {kind} after shot {i}")
        for k in range(n):
            if kind == "dissolve":
                al = ease((k + 1) / (n + 1))
                f = (1 - al) * a[k] + al * b[k]
            elif kind == "wipe":
                m = _wipe_mask(a.shape[1], a.shape[2], ease((k + 1) / (n + 1)), extra)
                f = np.where(m[..., None], b[k], a[k])
            elif kind == "fade":
                n_out = extra  # frames of fade-out, the last one black; then fade-in
                if k < n_out:
                    f = a[k] * (1 - ease((k + 1) / n_out))
                else:
                    n_in = n - n_out
                    f = b[k] * ease((k - n_out + 1) / (n_in + 1))
            else:
                raise ValueError(kind)
            out.append(np.clip(np.round(f), 0, 255).astype(np.uint8))
        truth.append(TruthTransition(start, start + n, kind, easing if kind != "cut" else "linear"))
        pos = n
    return np.stack(out), truth


def make_eval_clip(plan: str, directory: str | os.PathLike[str], media_dir: str | os.PathLike[str]) -> EvalClip:
    """Write ``plan`` as an mp4 in ``directory`` (H.264 crf 18, 25 fps); return its truth."""
    frames, truth = compose(plan, media_dir)
    path = os.path.join(os.fspath(directory), f"{plan}.mp4")
    if not Path(path).is_file():
        write_video(path, frames, fps=FPS)
    return EvalClip(path, FPS, len(frames), truth)


# ---------------------------------------------------------------------------
# The second, independent evaluation set
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Footage:
    """A single-shot stretch of real footage: frames [first, stop) of ``file`` in decode order."""

    file: str
    group: str  # same scene or film: two adjacent shots never share a group
    first: int
    stop: int
    loop: bool = False  # a seamless loop: read on past ``stop`` from ``first`` again
    crop: tuple[float, float, float, float] | None = None  # (x0, y0, x1, y1) share of the frame, then cover-crop


#: sha256 of each file of the second set's footage (bench/shots.py fetches and checks them)
SECOND_MEDIA = {
    "vtest.avi": "45cddc9490be69345cbdab64ca583be65987e864ca408038e648db99e10516cf",
    "tree.avi": "4666099d0f704e310047b2f0a5ec9f936cb76a7271de9a2e70a0c57f82ac82dc",
    "Megamind.avi": "0057387cb7e75c8fd1663b62cfdc51fa53f527795d0fe3c1fea2fd159d3130b5",
    "newtonscradle.gif": "a663c4e076b5c48e0aac58c7777d2bb3193cb3053c098d08da278a62d02ff314",
    "world.mp4": "71944d7430c461f0cd6e7fd10cee7eb72786352a3678fc7bc0ae3d410f72aece",
    "carphone_pristine.mp4": "1c4add7838b07b4d65ad9d66e9491758c7dbb6c717490db4b79ecf9ff82bab28",
}

#: Shots of the second set. Megamind.avi is a trailer excerpt with hard cuts at frames 98,
#: 154 and 200 (frame 0 is black): its four shots are separate footage of one group;
#: tree.avi is clean up to frame 52 (a hand enters after).
SECOND_FOOTAGE = {
    "vtest": Footage("vtest.avi", "vtest", 0, 795),
    "vtest-left": Footage("vtest.avi", "vtest", 0, 795, crop=(0.0, 0.3, 0.6, 1.0)),
    "tree": Footage("tree.avi", "tree", 0, 53),
    "carphone": Footage("carphone_pristine.mp4", "carphone", 0, 120),
    "world": Footage("world.mp4", "world", 0, 901),
    "world-zoom": Footage("world.mp4", "world", 0, 901, crop=(0.3, 0.1, 0.7, 0.9)),
    "newton": Footage("newtonscradle.gif", "newton", 0, 36, loop=True),
    "mm-a": Footage("Megamind.avi", "megamind", 1, 98),
    "mm-b": Footage("Megamind.avi", "megamind", 98, 154),
    "mm-c": Footage("Megamind.avi", "megamind", 154, 200),
    "mm-d": Footage("Megamind.avi", "megamind", 200, 270),
}

#: Real single-shot or hard-cut clips of the second set's footage, scored as they are.
MEGAMIND_CUTS = [98, 154, 200]
SECOND_SINGLE_SHOT = ["vtest.avi", "carphone_pristine.mp4", "world.mp4"]


@dataclass(frozen=True)
class SecondClip:
    name: str
    seed: int  # placement, lengths, easings and footage of this clip
    fps: Fraction
    size: tuple[int, int]
    crf: int  # x264 quality of the written clip


SECOND_CLIPS = [
    SecondClip("second_24", 2401, Fraction(24), (384, 216), 20),
    SecondClip("second_25", 2502, Fraction(25), (320, 240), 23),
    SecondClip("second_2997", 2997, Fraction(30000, 1001), (480, 270), 18),
    SecondClip("second_30", 3003, Fraction(30), (640, 360), 26),
    SecondClip("second_50", 5005, Fraction(50), (320, 180), 20),
]
#: transitions of the whole set, shuffled with SECOND_TYPES_SEED and dealt to the clips in turn
SECOND_TYPES = ["cut"] * 10 + ["dissolve"] * 9 + ["fade"] * 8 + ["wipe"] * 8
SECOND_TYPES_SEED = 1729
SECOND_VERSION = 1  # bump when the generator changes (cache names depend on it)
WIPE_DIRECTIONS = ("right", "left", "down", "up", "down-right", "up-left")
_EASINGS = tuple(_EASE)


def _second_types() -> list[list[str]]:
    rng = np.random.default_rng(SECOND_TYPES_SEED)
    order = [SECOND_TYPES[i] for i in rng.permutation(len(SECOND_TYPES))]
    per = len(order) // len(SECOND_CLIPS)
    return [order[i * per:(i + 1) * per] for i in range(len(SECOND_CLIPS))]


def _frames_for(fps: float, rng: np.random.Generator, lo_s: float, hi_s: float, least: int) -> int:
    return max(least, int(round(rng.uniform(lo_s, hi_s) * fps)))


def _second_transition(kind: str, fps: float, rng: np.random.Generator) -> dict:
    easing = _EASINGS[int(rng.integers(len(_EASINGS)))]
    if kind == "cut":
        return {"type": "cut", "frames": 0, "easing": "linear"}
    if kind == "dissolve":
        return {"type": kind, "frames": _frames_for(fps, rng, 0.25, 1.5, 5), "easing": easing}
    if kind == "wipe":
        n = _frames_for(fps, rng, 0.25, 1.1, 5)
        direction = WIPE_DIRECTIONS[int(rng.integers(len(WIPE_DIRECTIONS)))]
        soft = 0.0 if rng.random() < 0.5 else round(float(rng.uniform(0.05, 0.25)), 3)
        return {"type": kind, "frames": n, "easing": easing, "direction": direction, "soft": soft}
    if kind == "fade":
        n = _frames_for(fps, rng, 0.5, 2.0, 8)
        hold = 0 if rng.random() < 0.5 else max(1, int(round(rng.uniform(0.04, 0.25) * fps)))
        hold = min(hold, n - 6)
        n_out = int(np.clip(round((n - hold) * rng.uniform(0.35, 0.65)), 3, n - hold - 3))
        colour = 255 if rng.random() < 0.2 else 0
        return {"type": kind, "frames": n, "easing": easing, "out": n_out, "hold": hold, "colour": colour}
    raise ValueError(kind)


def _pick_footage(rng: np.random.Generator, need: int, prev_group: str | None, used: dict[str, int]) -> str:
    """A footage key of another group than ``prev_group`` with ``need`` frames: least used
    group first, then least used footage (``used`` counts both)."""
    keys = [k for k, f in SECOND_FOOTAGE.items()
            if f.group != prev_group and (f.loop or f.stop - f.first >= need)]
    for count in (lambda k: used.get(SECOND_FOOTAGE[k].group, 0), lambda k: used.get(k, 0)):
        low = min(count(k) for k in keys)
        keys = [k for k in keys if count(k) == low]
    return keys[int(rng.integers(len(keys)))]


@functools.lru_cache(maxsize=None)
def second_plan(name: str) -> dict:
    """The seeded plan of second-set clip ``name``: its shots (footage, first frame read,
    frames shown clean) and the transitions between them (JSON-serialisable)."""
    idx = [c.name for c in SECOND_CLIPS].index(name)
    clip = SECOND_CLIPS[idx]
    types = _second_types()[idx]
    rng = np.random.default_rng(clip.seed)
    fps = float(clip.fps)
    trans = [_second_transition(k, fps, rng) for k in types]
    shots: list[dict] = []
    used: dict[str, int] = {}
    prev = None
    for i in range(len(trans) + 1):
        edge = i in (0, len(trans))
        length = _frames_for(fps, rng, 0.8, 1.6, 12) if edge else _frames_for(fps, rng, 0.5, 2.2, 8)
        n_in = trans[i - 1]["frames"] if i else 0
        n_out = trans[i]["frames"] if i < len(trans) else 0
        longest = max(f.stop - f.first for f in SECOND_FOOTAGE.values() if f.group != prev and not f.loop)
        length = min(length, longest - n_in - n_out)  # still >= 8: vtest and world are long
        key = _pick_footage(rng, n_in + length + n_out, prev, used)
        f = SECOND_FOOTAGE[key]
        span = f.stop - f.first
        need = n_in + length + n_out
        start = f.first + (int(rng.integers(span)) if f.loop else int(rng.integers(span - need + 1)))
        shots.append({"footage": key, "start": start, "shown": length})
        used[f.group] = used.get(f.group, 0) + 1
        used[key] = used.get(key, 0) + 1
        prev = f.group
    return {"name": name, "version": SECOND_VERSION, "fps": [clip.fps.numerator, clip.fps.denominator],
            "size": list(clip.size), "crf": clip.crf, "shots": shots, "transitions": trans}


def _cover(img: np.ndarray, size: tuple[int, int], crop: tuple[float, float, float, float] | None) -> np.ndarray:
    """``img`` cut to ``crop`` (shares), then centre-cropped to the aspect of ``size`` and scaled to it."""
    import cv2

    h, w = img.shape[:2]
    if crop:
        x0, y0, x1, y1 = crop
        img = img[int(round(y0 * h)):int(round(y1 * h)), int(round(x0 * w)):int(round(x1 * w))]
        h, w = img.shape[:2]
    tw, th = size
    if w * th > h * tw:  # wider than the target: crop the sides
        cw = max(1, int(round(h * tw / th)))
        x = (w - cw) // 2
        img = img[:, x:x + cw]
    else:
        ch = max(1, int(round(w * th / tw)))
        y = (h - ch) // 2
        img = img[y:y + ch]
    interp = cv2.INTER_AREA if img.shape[1] >= tw else cv2.INTER_CUBIC
    return cv2.resize(np.ascontiguousarray(img), (tw, th), interpolation=interp)


def _footage_frames(media_dir: str, key: str, start: int, count: int, size: tuple[int, int]) -> np.ndarray:
    """``count`` frames of footage ``key`` from decode index ``start`` (wrapping for loops)."""
    import av

    f = SECOND_FOOTAGE[key]
    want = [start + j if not f.loop else f.first + (start - f.first + j) % (f.stop - f.first) for j in range(count)]
    if not f.loop and want and want[-1] >= f.stop:
        raise ValueError(f"footage {key} has no frame {want[-1]}")
    lo, hi = min(want, default=0), max(want, default=-1)
    got: dict[int, np.ndarray] = {}
    with av.open(os.path.join(media_dir, f.file)) as c:
        for i, fr in enumerate(c.decode(video=0)):
            if i > hi:
                break
            if i >= lo:
                got[i] = _cover(fr.to_ndarray(format="rgb24"), size, f.crop)
    if len(got) < hi - lo + 1:
        raise ValueError(f"{f.file} decoded fewer frames than footage {key} needs")
    return np.stack([got[i] for i in want]) if want else np.zeros((0, size[1], size[0], 3), np.uint8)


def _wipe_alpha(h: int, w: int, p: float, direction: str, soft: float) -> np.ndarray:
    """Share (0..1) of the new shot at each pixel when a wipe has progressed p; ``soft``: edge
    width as a share of the travel (0: a hard edge)."""
    ys, xs = np.mgrid[0:h, 0:w]
    u = {"right": (xs + 0.5) / w, "left": 1 - (xs + 0.5) / w, "down": (ys + 0.5) / h, "up": 1 - (ys + 0.5) / h,
         "down-right": ((xs + 0.5) / w + (ys + 0.5) / h) / 2,
         "up-left": 1 - ((xs + 0.5) / w + (ys + 0.5) / h) / 2}[direction]
    if soft <= 0:
        return (u < p).astype(np.float32)
    edge = p * (1 + soft) - soft  # the soft edge's leading side sweeps from -soft to 1
    return np.clip((edge + soft - u) / soft, 0, 1).astype(np.float32)


def _mix(kind: dict, k: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Frame k of transition ``kind`` from outgoing frame ``a`` to incoming ``b`` (float32)."""
    n, ease = kind["frames"], _EASE[kind["easing"]]
    if kind["type"] == "dissolve":
        al = ease((k + 1) / (n + 1))
        return (1 - al) * a + al * b
    if kind["type"] == "wipe":
        m = _wipe_alpha(a.shape[0], a.shape[1], ease((k + 1) / (n + 1)), kind["direction"], kind["soft"])[..., None]
        return (1 - m) * a + m * b
    n_out, hold, colour = kind["out"], kind["hold"], float(kind["colour"])
    if k < n_out:  # fade out: the last of these frames is the solid colour
        w = ease((k + 1) / n_out)
        return (1 - w) * a + w * colour
    if k < n_out + hold:
        return np.full_like(a, colour)
    n_in = n - n_out - hold
    w = ease((k - n_out - hold + 1) / (n_in + 1))
    return (1 - w) * colour + w * b


def compose_second(name: str, media_dir: str | os.PathLike[str]) -> tuple[np.ndarray, list[TruthTransition]]:
    """Frames [n, h, w, 3] uint8 of second-set clip ``name`` and its true transitions."""
    plan = second_plan(name)
    size = tuple(plan["size"])
    media_dir = os.fspath(media_dir)
    shots, trans = plan["shots"], plan["transitions"]
    reads = []
    for i, s in enumerate(shots):
        n_in = trans[i - 1]["frames"] if i else 0
        n_out = trans[i]["frames"] if i < len(trans) else 0
        reads.append((n_in, _footage_frames(media_dir, s["footage"], s["start"], n_in + s["shown"] + n_out, size)))
    out: list[np.ndarray] = []
    truth: list[TruthTransition] = []
    for i, s in enumerate(shots):
        n_in, fr = reads[i]
        out.extend(fr[n_in:n_in + s["shown"]])
        if i == len(shots) - 1:
            break
        t = trans[i]
        n = t["frames"]
        start = len(out)
        a = fr[n_in + s["shown"]:].astype(np.float32)
        b = reads[i + 1][1][:n].astype(np.float32)
        for k in range(n):
            out.append(np.clip(np.round(_mix(t, k, a[k], b[k])), 0, 255).astype(np.uint8))
        truth.append(TruthTransition(start, start + n, t["type"], t["easing"]))
    return np.stack(out), truth


def second_truth(name: str) -> tuple[int, list[TruthTransition]]:
    """(frame count, true transitions) of second-set clip ``name``, from its plan alone."""
    plan = second_plan(name)
    pos, truth = 0, []
    for i, s in enumerate(plan["shots"]):
        pos += s["shown"]
        if i < len(plan["transitions"]):
            t = plan["transitions"][i]
            truth.append(TruthTransition(pos, pos + t["frames"], t["type"], t["easing"]))
            pos += t["frames"]
    return pos, truth


def make_second_clip(name: str, directory: str | os.PathLike[str], media_dir: str | os.PathLike[str]) -> EvalClip:
    """Write second-set clip ``name`` (H.264 at its frame rate, size and crf) in ``directory``,
    named by a hash of its plan and footage, with its plan and truth as JSON beside it."""
    plan = second_plan(name)
    key = json.dumps({"plan": plan, "media": SECOND_MEDIA}, sort_keys=True).encode()
    stem = os.path.join(os.fspath(directory), f"{name}-{hashlib.sha256(key).hexdigest()[:10]}")
    fps = Fraction(*plan["fps"])
    n, truth = second_truth(name)
    if not Path(stem + ".mp4").is_file():
        frames, composed = compose_second(name, media_dir)
        if composed != truth or len(frames) != n:
            raise AssertionError("second-set truth from the plan differs from the composed clip")
        tmp = stem + ".tmp.mp4"
        write_video(tmp, frames, fps=fps, crf=plan["crf"])
        os.replace(tmp, stem + ".mp4")
        Path(stem + ".json").write_text(json.dumps(
            {"plan": plan, "frames": n, "truth": [asdict(t) for t in truth]}, indent=1))
    return EvalClip(stem + ".mp4", float(fps), n, truth)


@dataclass(frozen=True)
class TimedTruth(TruthTransition):
    """A true transition of a real clip whose frames are not at i / fps (times from the file)."""

    start_s: float = 0.0
    end_s: float = 0.0

    def span_s(self, fps: float) -> tuple[float, float]:
        return self.start_s, self.end_s


# ---------------------------------------------------------------------------
# Scoring
# ---------------------------------------------------------------------------


def _f1(tp: int, n_pred: int, n_true: int) -> float | None:
    if n_pred == 0 and n_true == 0:
        return None
    p = tp / n_pred if n_pred else 0.0
    r = tp / n_true if n_true else 0.0
    return 0.0 if p + r == 0 else 2 * p * r / (p + r)


def _pairs(truth: list[TruthTransition], preds: list, fps: float) -> list[tuple[TruthTransition, object]]:
    """Each true transition with the prediction matched to it by time (see :func:`score`),
    one prediction at most per true transition, preferring one of the same type."""
    tol = 1.0 / fps + 1e-6

    def matches(tt: TruthTransition, p) -> bool:
        s, e = tt.span_s(fps)
        if tt.type == "cut":
            c = (p.start_s + p.end_s) / 2 if p.type != "cut" else p.start_s
            return abs(c - s) <= tol + (p.end_s - p.start_s) / 2
        c = (p.start_s + p.end_s) / 2
        return s - tol <= c <= e + tol

    used: set[int] = set()
    pairs = []
    for tt in truth:
        best = None
        for j, p in enumerate(preds):
            if j in used or not matches(tt, p):
                continue
            if best is None or (p.type == tt.type) > (preds[best].type == tt.type):
                best = j
        if best is not None:
            used.add(best)
            pairs.append((tt, preds[best]))
    return pairs


def by_type(truth: list[TruthTransition], predicted: list, fps: float) -> dict[str, list[int]]:
    """Per true type: [true, found (matched by time to any prediction), typed right]; and
    "unmatched": [number of predictions matched to no true transition, 0, 0]."""
    preds = list(predicted)
    pairs = _pairs(truth, preds, fps)
    out = {k: [0, 0, 0] for k in ("cut", "dissolve", "fade", "wipe")}
    for t in truth:
        out[t.type][0] += 1
    for t, p in pairs:
        out[t.type][1] += 1
        out[t.type][2] += int(p.type == t.type)
    out["unmatched"] = [len(preds) - len(pairs), 0, 0]
    return out


def score(truth: list[TruthTransition], predicted: list, fps: float) -> dict:
    """Quality of ``predicted`` (engine Transitions) against ``truth``.

    - cut F1: a predicted cut matches a true cut whose boundary is within ±1 frame;
    - gradual F1: a predicted non-cut matches a true gradual transition when its centre
      lies inside the true span (±1 frame);
    - type accuracy: over true transitions matched by time to any prediction (same rules),
      the share typed right (``type_acc``: all; ``gradual_type_acc``: gradual ones only);
    - duration error: mean |predicted − true| duration of matched gradual ones (ms).
    Returns counts too, for pooling over clips.
    """
    preds = list(predicted)
    pairs = _pairs(truth, preds, fps)
    true_cuts = [t for t in truth if t.type == "cut"]
    true_grad = [t for t in truth if t.type != "cut"]
    pred_cuts = [p for p in preds if p.type == "cut"]
    pred_grad = [p for p in preds if p.type != "cut"]
    tp_cut = sum(1 for t, p in pairs if t.type == "cut" and p.type == "cut")
    tp_grad = sum(1 for t, p in pairs if t.type != "cut" and p.type != "cut")
    typed = [(t, p) for t, p in pairs]
    grad_typed = [(t, p) for t, p in pairs if t.type != "cut"]
    dur_err = [abs((p.end_s - p.start_s) - (t.end_frame - t.start_frame) / fps) * 1000
               for t, p in grad_typed if p.type != "cut"]
    return {
        "true_cuts": len(true_cuts), "pred_cuts": len(pred_cuts), "tp_cuts": tp_cut,
        "true_gradual": len(true_grad), "pred_gradual": len(pred_grad), "tp_gradual": tp_grad,
        "typed": len(typed), "typed_right": sum(1 for t, p in typed if t.type == p.type),
        "grad_typed": len(grad_typed), "grad_typed_right": sum(1 for t, p in grad_typed if t.type == p.type),
        "easing_right": sum(1 for t, p in grad_typed if t.type == p.type and t.easing == p.easing),
        "dur_err_ms": dur_err,
    }


def pooled(scores: list[dict]) -> dict:
    """F1s and accuracies pooled over several clips' :func:`score` dicts."""
    tot = {k: sum(s[k] for s in scores) for k in scores[0] if k != "dur_err_ms"}
    errs = [e for s in scores for e in s["dur_err_ms"]]
    return {
        "cut_f1": _f1(tot["tp_cuts"], tot["pred_cuts"], tot["true_cuts"]),
        "gradual_f1": _f1(tot["tp_gradual"], tot["pred_gradual"], tot["true_gradual"]),
        "type_acc": tot["typed_right"] / tot["typed"] if tot["typed"] else None,
        "gradual_type_acc": tot["grad_typed_right"] / tot["grad_typed"] if tot["grad_typed"] else None,
        "easing_acc": tot["easing_right"] / tot["grad_typed_right"] if tot["grad_typed_right"] else None,
        "duration_err_ms": float(np.mean(errs)) if errs else None,
        **tot,
    }
