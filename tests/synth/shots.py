"""Evaluation clips for shot/transition detection, made in code from real footage.

Real shots come from the shared media clips (different clips or distant parts of one),
scaled to 320x180, and are joined with hard cuts, dissolves, fades through black and
wipes at known frames with known easing. Ground truth follows the engine's convention:
a cut starts and ends at the first frame of the new shot; a gradual transition spans
from its first mixed frame to the first clean frame of the new shot.
"""
from __future__ import annotations

import functools
import os
from dataclasses import dataclass
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
# Scoring
# ---------------------------------------------------------------------------


def _f1(tp: int, n_pred: int, n_true: int) -> float | None:
    if n_pred == 0 and n_true == 0:
        return None
    p = tp / n_pred if n_pred else 0.0
    r = tp / n_true if n_true else 0.0
    return 0.0 if p + r == 0 else 2 * p * r / (p + r)


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
    tol = 1.0 / fps + 1e-6
    preds = list(predicted)

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
