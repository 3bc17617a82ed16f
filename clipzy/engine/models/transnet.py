"""TransNetV2's input and output contract at run time: sliding windows and per-frame probabilities.

The graph (built at prepare time by :mod:`clipzy.engine.models.transnet_graph`) takes
``frames``: uint8 ``[batch, 100, 27, 48, 3]`` RGB and gives ``single`` (probability that
frame t is the first frame after a transition) and ``many`` (probability that frame t lies
inside a transition), float32 ``[batch, 100]`` each. :func:`predict` runs the original
sliding-window inference (100-frame windows, 25 frames of context repeated at both ends,
step 50, middle 50 kept) with several windows per ``session.run``.
"""
from __future__ import annotations

from typing import Any

import numpy as np

WINDOW = 100  # frames per network input window
STEP = 50  # frames predicted per window (its middle part)
CONTEXT = 25  # frames of context on each side of the predicted part
HEIGHT, WIDTH = 27, 48  # network frame size (pixels)


# ---------------------------------------------------------------------------
# Inference helpers
# ---------------------------------------------------------------------------


def windows(frames: np.ndarray) -> np.ndarray:
    """The reference model's input windows of a whole clip.

    ``frames``: uint8 ``[n, 27, 48, 3]``. Returns ``[k, 100, 27, 48, 3]`` where window i
    covers padded frames ``50 i .. 50 i + 99`` of the clip padded with 25 copies of the
    first frame before and enough copies of the last frame after (as the original).
    """
    if frames.ndim != 4 or frames.shape[1:] != (HEIGHT, WIDTH, 3):
        raise ValueError("frames must be [n, 27, 48, 3]")
    n = len(frames)
    if n == 0:
        raise ValueError("no frames")
    end_pad = CONTEXT + STEP - (n % STEP if n % STEP else STEP)
    padded = np.concatenate([np.repeat(frames[:1], CONTEXT, 0), frames, np.repeat(frames[-1:], end_pad, 0)])
    k = (len(padded) - WINDOW) // STEP + 1
    return np.stack([padded[i * STEP:i * STEP + WINDOW] for i in range(k)])


def predict(session: Any, frames: np.ndarray, *, batch: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame (single, many) probabilities of a whole clip, float32 ``[n]`` each.

    ``session``: an onnxruntime session of the graph from :func:`build_onnx`;
    ``batch``: windows per ``session.run`` (>= 1).
    """
    if batch < 1:
        raise ValueError("batch must be >= 1")
    win = windows(frames)
    single, many = [], []
    for i in range(0, len(win), batch):
        s, m = session.run(["single", "many"], {"frames": win[i:i + batch]})
        single.append(s[:, CONTEXT:CONTEXT + STEP].reshape(-1))
        many.append(m[:, CONTEXT:CONTEXT + STEP].reshape(-1))
    n = len(frames)
    return np.concatenate(single)[:n], np.concatenate(many)[:n]


