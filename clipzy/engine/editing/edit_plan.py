"""The edit plan of an apply job as the editing half uses it: seconds and frames inside.

:class:`EditPlan` is what the planner (:mod:`.plan`) builds and what the soundtrack mix,
the renderer and the editor timelines read. :meth:`EditPlan.to_json` writes the
``edit_plan.json`` artifact of STYLE_DNA.md ("The edit plan"): the only place where its
times become integer milliseconds.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

VERSION = "1.0"


def ms(t_s: float) -> int:
    """Seconds → the plan's integer milliseconds (nearest)."""
    return int(round(t_s * 1000))


@dataclass(frozen=True)
class OutputFormat:
    """The rendered picture: even size in pixels, constant frame rate, length in frames."""

    width: int
    height: int
    frame_rate: float  # frames per second
    frame_count: int

    @property
    def duration_s(self) -> float:
        return self.frame_count / self.frame_rate


@dataclass(frozen=True)
class PlannedTransition:
    """How a segment begins: a cut, or a transition of ``frames`` output frames."""

    type: str  # one of clipzy.engine.terms.TRANSITION_TYPES
    frames: int  # 0 for a cut
    easing: str = "linear"

    def duration_s(self, fps: float) -> float:
        return self.frames / fps


@dataclass(frozen=True)
class CropKey:
    """The crop window at ``t_s`` seconds after the segment's ``footage_in_s`` (footage
    display pixels, top-left corner)."""

    t_s: float
    x: int
    y: int
    width: int
    height: int


@dataclass
class Segment:
    """One output shot: footage ``footage_in_s``..``footage_out_s`` (1:1 speed) shown on
    output frames ``output_in_frame``..``output_out_frame`` (exclusive).

    A transition's frames belong to the segment it leads into; ``tail_s`` is the footage
    left in the segment's shot after its out point, shown under the next transition.
    """

    index: int
    footage_in_s: float
    footage_out_s: float
    output_in_frame: int
    output_out_frame: int
    footage_shot: int  # index of the footage shot it lies in
    tail_s: float
    transition_in: PlannedTransition
    crop: list[CropKey]
    lut: str
    on_beat: bool
    clip: int = 0  # which footage clip (index into the job's footage) it comes from
    video_id: str | None = None  # that clip's id
    beats: float | None = None  # its length in soundtrack beats (None without a beat grid)

    @property
    def frames(self) -> int:
        return self.output_out_frame - self.output_in_frame


@dataclass
class Soundtrack:
    """The soundtrack chosen for the output and, once mixed, what was measured on it."""

    source: str  # "template", "footage", "mix" or "none"
    target_lufs: float | None  # integrated loudness to reach (None: keep the level)
    true_peak_ceiling_dbtp: float
    gain_db: float | None = None
    duck_db: float | None = None
    measured_lufs: float | None = None
    true_peak_dbtp: float | None = None
    mixed: bool = False  # whether measured_lufs/true_peak_dbtp have been filled in
    audio_id: str | None = None  # the song, when the soundtrack is the user's song (music, mix)
    music_start_s: float | None = None  # where in the song the edit starts; set iff the song is used

    @property
    def uses_song(self) -> bool:
        """Whether the user's song is (part of) the soundtrack (``music`` or ``mix`` with a song)."""
        return self.music_start_s is not None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"source": self.source, "gain_db": self.gain_db, "duck_db": self.duck_db,
                               "target_lufs": self.target_lufs, "true_peak_ceiling_dbtp": self.true_peak_ceiling_dbtp,
                               "audio_id": self.audio_id,
                               "music_start_ms": None if self.music_start_s is None else ms(self.music_start_s)}
        if self.mixed:
            out.update(measured_lufs=self.measured_lufs, true_peak_dbtp=self.true_peak_dbtp)
        return out


@dataclass
class EditPlan:
    """What goes where in the output (see the module docstring)."""

    output: OutputFormat
    soundtrack: Soundtrack
    luts: dict[str, str]  # LUT name → .cube file name
    segments: list[Segment]
    encoder: dict[str, Any]
    config: dict[str, Any]  # the effective config
    footage: dict[str, Any]  # footage size, duration and face detector, as written
    beat_sync: dict[str, int]  # beats offered, cuts, cuts on a beat
    extra: dict[str, Any] = field(default_factory=dict)
    soundtrack_beats_s: list[float] = field(default_factory=list)  # the soundtrack's beat grid, output clock
    soundtrack_downbeats_s: list[float] = field(default_factory=list)  # its downbeats, output clock
    selection: list[dict[str, Any]] = field(default_factory=list)  # every clip: usable, reason, used_ms

    @property
    def fps(self) -> float:
        return self.output.frame_rate

    def output_in_s(self, seg: Segment) -> float:
        return seg.output_in_frame / self.fps

    def output_out_s(self, seg: Segment) -> float:
        return seg.output_out_frame / self.fps

    def to_json(self) -> dict[str, Any]:
        """The ``edit_plan.json`` document (times in integer milliseconds)."""
        fps = self.fps
        return {
            "version": VERSION,
            "output": {"width": self.output.width, "height": self.output.height, "frame_rate": fps,
                       "duration_ms": ms(self.output.duration_s), "frame_count": self.output.frame_count},
            "soundtrack": self.soundtrack.to_json(),
            "luts": dict(self.luts),
            "segments": [self._segment_json(s) for s in self.segments],
            "encoder": dict(self.encoder),
            "config": dict(self.config),
            "footage": dict(self.footage),
            "beat_sync": dict(self.beat_sync),
            "selection": [dict(c) for c in self.selection],
            **self.extra,
        }

    def _segment_json(self, s: Segment) -> dict[str, Any]:
        fps = self.fps
        return {
            "index": s.index,
            "footage_in_ms": ms(s.footage_in_s),
            "footage_out_ms": ms(s.footage_out_s),
            "output_in_ms": int(round(s.output_in_frame * 1000.0 / fps)),
            "output_out_ms": int(round(s.output_out_frame * 1000.0 / fps)),
            "output_in_frame": s.output_in_frame,
            "output_out_frame": s.output_out_frame,
            "footage_shot": s.footage_shot,
            "tail_ms": int(math.floor(s.tail_s * 1000)),
            "transition_in": {"type": s.transition_in.type,
                              "duration_ms": int(round(s.transition_in.frames * 1000.0 / fps)),
                              "easing": s.transition_in.easing},
            "crop": [{"t_ms": ms(k.t_s), "x": k.x, "y": k.y, "width": k.width, "height": k.height} for k in s.crop],
            "lut": s.lut,
            "on_beat": s.on_beat,
            "video_id": s.video_id,
            "beats": s.beats,
        }
