"""Clips of real footage with on-screen text drawn in code (cv2.putText, Hershey fonts).

Every clip is built from shots of a real video (``shared_media_frames``) joined by hard
cuts, and every drawn string comes with its exact ground truth: the 3×3 grid cell of its
centre, the time span in seconds, its ink height in pixels and its RGB colour.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import cv2
import numpy as np

from .video import shared_media_frames, write_video

FONT = cv2.FONT_HERSHEY_DUPLEX  # clean stroke font, distinct upper/lower case


@dataclass(frozen=True)
class DrawnText:
    """One string drawn on a clip. ``start_s``/``end_s``: first/after-last frame times."""

    text: str
    cell: str  # 3×3 grid cell of the text centre
    start_s: float
    end_s: float
    ink_height_px: int  # vertical extent of the fill strokes (descenders included), clip pixels
    rgb: tuple[int, int, int]


@dataclass(frozen=True)
class Clip:
    path: str
    fps: float
    size: tuple[int, int]  # (width, height)
    shots_s: list[tuple[float, float]]
    texts: list[DrawnText]


_ANCHORS = {  # (x share, y share) of the text centre for each cell used by the clips
    "top-center": (0.5, 0.12),
    "top-left": (0.2, 0.12),
    "middle-right": (0.78, 0.5),
    "bottom-center": (0.5, 0.87),
}


def draw_text(img: np.ndarray, text: str, cell: str, *, scale: float, thickness: int,
              rgb: tuple[int, int, int], outline: int = 0) -> int:
    """Draw ``text`` centred on the anchor of ``cell`` (in place); returns the cap height in px.

    ``outline`` > 0 first draws the string in black that many pixels thicker (caption style).
    """
    h, w = img.shape[:2]
    (tw, th), base = cv2.getTextSize(text, FONT, scale, thickness)
    ax, ay = _ANCHORS[cell]
    org = (int(round(ax * w - tw / 2)), int(round(ay * h + th / 2)))
    if outline:
        cv2.putText(img, text, org, FONT, scale, (0, 0, 0), thickness + 2 * outline, cv2.LINE_AA)
    cv2.putText(img, text, org, FONT, scale, rgb, thickness, cv2.LINE_AA)
    return ink_height(text, scale=scale, thickness=thickness)


def ink_height(text: str, *, scale: float, thickness: int) -> int:
    """Vertical extent in pixels of the fill strokes of ``text`` (descenders included)."""
    (tw, th), base = cv2.getTextSize(text, FONT, scale, thickness)
    canvas = np.zeros((th + base + 4 * thickness + 8, tw + 8), np.uint8)
    cv2.putText(canvas, text, (4, th + 2 * thickness + 4), FONT, scale, 255, thickness, cv2.LINE_AA)
    rows = np.flatnonzero((canvas >= 128).any(axis=1))
    return int(rows[-1] - rows[0] + 1)


def footage_shots(video: str, *, starts_s: list[float], shot_s: float, fps: float,
                  size: tuple[int, int], source_fps: float) -> list[list[np.ndarray]]:
    """Frames of each shot: ``shot_s`` seconds of ``video`` from each start, resampled to ``fps``."""
    step = max(1, int(round(source_fps / fps)))
    n = int(round(shot_s * fps))
    shots = []
    for s in starts_s:
        frames = shared_media_frames(video, start_s=s, count=n * step, size=size)
        picked = frames[::step][:n]
        while len(picked) < n:  # short source: hold the last frame
            picked.append(picked[-1].copy())
        shots.append([f.copy() for f in picked])
    return shots


CAPTIONS = ("Hello from the park", "The bird looks around", "Now it eats a seed", "See you next time")


def build_clip(kind: str, video: str, out_dir: str, *, fps: float = 10.0,
               size: tuple[int, int] = (640, 360), source_fps: float = 20.0) -> Clip:
    """Write one 8 s clip (4 shots of 2 s, hard cuts) and return its ground truth.

    ``kind``: ``"captions"`` (a different white, black-outlined caption at bottom-center
    in each shot), ``"title"`` (a yellow title at top-center for 0–3 s and a cyan tag at
    middle-right for 4–7 s, across cuts), or ``"plain"`` (no text).
    """
    if kind not in ("captions", "title", "plain"):
        raise ValueError(f"unknown clip kind {kind!r}")
    shot_s = 2.0
    starts = [0.5, 4.0, 7.5, 11.0]
    shots = footage_shots(video, starts_s=starts, shot_s=shot_s, fps=fps, size=size, source_fps=source_fps)
    frames = [f for shot in shots for f in shot]
    texts: list[DrawnText] = []
    for i, img in enumerate(frames):
        t = i / fps
        if kind == "captions":
            k = min(int(t // shot_s), len(CAPTIONS) - 1)
            th = draw_text(img, CAPTIONS[k], "bottom-center", scale=1.0, thickness=2, rgb=(255, 255, 255), outline=2)
            if i == 0 or int(((i - 1) / fps) // shot_s) != k:
                texts.append(DrawnText(CAPTIONS[k], "bottom-center", k * shot_s, (k + 1) * shot_s, th, (255, 255, 255)))
        elif kind == "title":
            if t < 3.0:
                th = draw_text(img, "MORNING WALK", "top-center", scale=1.6, thickness=3, rgb=(255, 220, 0), outline=1)
                if i == 0:
                    texts.append(DrawnText("MORNING WALK", "top-center", 0.0, 3.0, th, (255, 220, 0)))
            if 4.0 <= t < 7.0:
                th = draw_text(img, "LIVE 2024", "middle-right", scale=1.1, thickness=2, rgb=(0, 230, 255), outline=1)
                if abs(t - 4.0) < 1e-6:
                    texts.append(DrawnText("LIVE 2024", "middle-right", 4.0, 7.0, th, (0, 230, 255)))
    path = os.path.join(out_dir, f"text_{kind}.mp4")
    write_video(path, frames, fps=fps)
    shots_s = [(k * shot_s, (k + 1) * shot_s) for k in range(len(starts))]
    return Clip(path, fps, size, shots_s, texts)
