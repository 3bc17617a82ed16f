"""Editor timelines of an apply job: the edit plan as OTIO, FCPXML, FCP 7 XML, EDL and MLT.

:func:`build_timeline` turns an :class:`~clipzy.engine.editing.edit_plan.EditPlan` into one
OpenTimelineIO timeline; :func:`write_timelines` writes it in the five formats of API.md
("Editor timelines"); :func:`write_project_bundle` zips them with the media, the grade and
the soundtrack so that the unpacked folder opens anywhere (every reference is relative:
``media/<clip>``, ``grade/<name>.cube``, ``audio/soundtrack.wav``). :func:`export` does all
three for a job.

The timeline is the plan, frame-exact at the output frame rate (a rational: 30000/1001 stays
29.97002997…):

* **Video track** ``V1``: one clip per segment, named after its media file. Its record range
  is the segment's output frames (contiguous from 0); its source range starts on the first
  footage frame the renderer shows (:func:`source_in_frame`: the last frame whose timestamp
  is ≤ ``footage_in_s`` + 1 ms), in the clip's *own* frame rate, and lasts the segment's
  duration (``frames × footage fps / output fps`` footage frames: a fraction when the rates
  differ, so that the record range stays exact).
* **Transitions**: a transition's frames belong to the segment it leads into, so every
  transition starts at the cut (``in_offset`` 0, ``out_offset`` = its frames): the incoming
  clip starts at its in point at the cut while the outgoing one continues past its out point
  (the renderer holds the outgoing shot's last frame after ``tail_s``; editors show the
  clip's following media instead). ``dissolve`` → ``SMPTE_Dissolve`` "Cross Dissolve",
  ``fade`` → "Dip to Color Dissolve" (black), ``wipe`` → ``SMPTE_Wipe`` "Edge Wipe" (left to
  right); type, frames and easing also in ``metadata["clipzy"]``.
* **Reframing and grade** per clip in ``metadata["clipzy"]`` (:data:`META`): ``crop`` (the
  plan's crop keyframes, ``t_s`` seconds from the clip's start, window in footage display
  pixels), ``transform`` (the same as a scale and position: ``scale_x``/``scale_y`` output
  pixels per footage pixel, ``x``/``y`` the offset of the footage centre from the frame centre
  in output pixels, +y down) and ``grade`` (the LUT name and its bundle-relative ``.cube``).
* **Audio track** ``A1``: the soundtrack WAV over the whole edit (``metadata["clipzy"]``
  ``gain_db``: the level to apply in the editor; the WAV is the rendered mix, already
  normalised, so 0 dB by default). The footage's own audio is not used (the soundtrack is the
  mix the renderer encodes).
* **Markers** on the timeline (``timeline.tracks.markers``): one per soundtrack beat inside
  the edit, on the first output frame at or after the beat (where a beat-synced cut lands),
  named ``beat`` (yellow) or ``downbeat`` (red).

Formats (:data:`FORMAT_NOTES` lists what each carries and loses):

* ``otio``: OpenTimelineIO JSON (``otio_json``), everything above.
* ``xml`` (Final Cut Pro 7 XML, ``xmeml`` 4): written by OTIO's ``fcp_xml`` adapter, then
  post-processed with ElementTree where the adapter drops or breaks what the format carries:
  transitions aligned ``start`` (it writes ``start-black``: a fade from black) with the
  outgoing clip's handle under them (``end`` −1); every clip's ``in``/``out`` in its own
  frames (with a transition next to a clip at another rate the adapter writes them rescaled
  to the sequence rate) and ``duration`` the media's; the effect of each type (Cross
  Dissolve; Dip to Color Dissolve with a black ``dipcolor``; Edge Wipe, angle 0); a "Basic
  Motion" filter per clip (scale in percent of the media's pixels, centre as a fraction of the
  sequence width/height from its centre, keyframed at source frames where the crop moves);
  the grade as a comment and label; the sequence's size; "Audio Levels" on the soundtrack.
* ``fcpxml`` (FCPXML 1.8): written here with ElementTree — the ``fcpx_xml`` adapter writes no
  transitions, no effects, no sequence size and no timeline markers, and fails on 29.97 or
  23.976 fps (its frame-duration table is keyed by integer rates) — with ``asset-clip`` elements
  in the spine (rational offset/start/duration, ``conform-rate`` for footage at another
  rate), ``Cross Dissolve`` / ``Fade To Color`` transitions (the FxPlug uids Final Cut Pro
  and Resolve export; a wipe is written as a Cross Dissolve: no verified wipe uid),
  ``adjust-conform`` fit + ``adjust-transform`` (scale relative to the fit, position in percent
  of the frame height, keyframed in the clip's time), the soundtrack as a connected clip
  (lane −1, ``adjust-volume``), beat markers on the clip they fall in, the grade as ``note``
  and ``metadata``.
* ``edl`` (CMX 3600, video track only): written by OTIO's ``cmx_3600`` adapter from a
  single-rate view of the timeline (record and source timecodes non-drop at the output rate;
  a fade as a dissolve to black ``BL`` and one from it), then post-processed: ``FCM:
  NON-DROP FRAME``, wipes as SMPTE wipe ``W001`` (the adapter writes every transition as
  ``D``), beat markers as ``* LOC`` comments (record timecode), the grade as ``* CLIPZY
  GRADE`` comments.
* ``mlt`` (MLT XML for melt, Shotcut, Kdenlive): written here (no adapter writes one). A
  profile of the output size and rational rate; one ``avformat`` producer per footage clip
  (relative ``resource``, its audio off) and one for the soundtrack WAV; the video playlist
  reproduces every output frame: each segment an entry (its in point chosen so that MLT's
  nearest-frame conform of footage at another rate shows as many of the renderer's frames as
  it can, never one outside the segment), with ``avfilter.lut3d`` (``av.file``) for the grade
  and an ``affine`` filter (``transition.rect``: the whole footage frame placed so that the
  crop window fills the output, keyframed) for the reframing; a dissolve or a wipe is a
  nested tractor of the outgoing and incoming entries with an ``affine`` transition (opacity
  per frame: the renderer's eased progress; for a wipe the incoming entry is made transparent
  right of the edge by a ``shape`` filter on MLT's left-to-right luma wipe); a fade is the
  outgoing entry then the incoming one with ``avfilter.colorchannelmixer`` gains per frame
  (to black, then from black); the renderer's held last frame is a ``freeze`` filter; the
  soundtrack has its own track (``volume`` filter for a gain) mixed in by a ``mix`` transition;
  beat markers are Shotcut markers and Kdenlive guides. No Qt services (they need X11).
"""
from __future__ import annotations

import copy
import json
import math
import os
import re
import shutil
import textwrap
import wave
import zipfile
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Callable, Mapping, Sequence
from xml.etree import ElementTree as ET

import numpy as np
import opentimelineio as otio
from opentimelineio import opentime

from ..files import atomic_path
from ..media import VideoInfo, rational
from ..terms import ease
from . import crop as crop_mod
from .edit_plan import CropKey, EditPlan, Segment

#: Metadata namespace of every OTIO object this module writes.
META = "clipzy"
#: Folders and the soundtrack's name inside a project bundle (all references are relative).
MEDIA_DIR = "media"
GRADE_DIR = "grade"
SOUNDTRACK_PATH = "audio/soundtrack.wav"
#: File name of each format inside a bundle (keys of :func:`write_timelines`' ``out``).
FORMATS: dict[str, str] = {"otio": "timeline.otio", "fcpxml": "timeline.fcpxml", "xml": "timeline.xml",
                           "edl": "timeline.edl", "mlt": "timeline.mlt"}
#: The formats whose sequence is counted in SMPTE timecode (none for other frame rates).
TIMECODE_FORMATS = frozenset({"edl", "xml"})
#: Tolerance of the renderer when it picks the footage frame shown at a time, seconds.
SHOW_EPS_S = 1e-3
#: Sample rate of the soundtrack WAV.
SOUND_RATE = 48000

#: FxPlug uids of Final Cut Pro's transitions, as Final Cut Pro and Resolve write them.
FCPX_CROSS_DISSOLVE = "FxPlug:4731E73A-8DAC-4113-9A30-AE85B1761265"
FCPX_FADE_TO_COLOR = "FxPlug:F779C565-486D-4633-8035-0374B4DB8F5C"

#: What each transition type becomes: OTIO transition_type and name, FCP 7 effect.
TRANSITIONS: dict[str, dict[str, str]] = {
    "dissolve": {"otio": otio.schema.TransitionTypes.SMPTE_Dissolve, "name": "Cross Dissolve",
                 "fcp7_id": "Cross Dissolve", "fcp7_category": "Dissolve"},
    "fade": {"otio": otio.schema.TransitionTypes.SMPTE_Dissolve, "name": "Dip to Color Dissolve",
             "fcp7_id": "Dip to Color Dissolve", "fcp7_category": "Dissolve"},
    "wipe": {"otio": "SMPTE_Wipe", "name": "Edge Wipe", "fcp7_id": "Edge Wipe", "fcp7_category": "Wipe"},
}

#: What each format carries and loses (the README table and the bundle's README.txt). Every
#: format but MLT also loses the renderer's held last frame: under a transition the outgoing
#: clip shows its following media (the renderer holds its shot's last frame after ``tail_s``),
#: and starts each transition at the cut (editors that centre transitions on the edit move them).
FORMAT_NOTES: list[tuple[str, str, str, str]] = [
    ("`.otio` (OpenTimelineIO)", "DaVinci Resolve 18.5+, Premiere Pro 25.6+, OTIO tools",
     "cuts at the rational output rate; source in/out in each clip's own rate; dissolves, dips to black and "
     "wipes with their frames (easing in metadata); beat and downbeat markers; the soundtrack track; "
     "reframing (crop keys, scale/position) and the grade's `.cube` as `clipzy` metadata",
     "editors do not apply the `clipzy` metadata: redo the reframing and the grade from it; importers may "
     "play the dip and the wipe as dissolves; easing curves"),
    ("`.fcpxml` (FCPXML 1.8)", "Final Cut Pro, DaVinci Resolve",
     "cuts and source in/out as exact rational times; Cross Dissolve and Fade To Color (dip to black) "
     "transitions; keyframed scale and position (`adjust-transform`); the soundtrack with its gain; beat "
     "markers on the clips they fall in; the grade named in a note and metadata",
     "wipes (written as cross dissolves); easing; the LUT is named, not applied; downbeats only by name"),
    ("`.xml` (Final Cut Pro 7 XML)", "Premiere Pro, DaVinci Resolve",
     "cuts at the sequence rate (timebase and NTSC flag); source in/out in each clip's frames; Cross "
     "Dissolve, Dip to Color Dissolve (black) and Edge Wipe; Basic Motion scale and centre, keyframed; the "
     "soundtrack with Audio Levels; sequence markers; the grade as a comment",
     "easing; the LUT is named, not applied; marker colours; footage at another rate: the source out "
     "rounded to its frames; Basic Motion centre units are read differently by some importers (check the "
     "framing)"),
    ("`.edl` (CMX 3600)", "any editor",
     "the video track: cuts, source timecodes, dissolves, wipes (SMPTE W001), dips to black through `BL`, "
     "beat locators (`* LOC`), the grade as comments",
     "one non-drop timecode rate for everything: footage at another rate has its source timecodes rounded "
     "to the output rate; no reframing, no audio, no easing; reel names cut to 8 characters"),
    ("`.mlt` (MLT XML)", "Shotcut, Kdenlive (as a clip), `melt`",
     "every output frame: cuts, source frames, keyframed reframing (`affine`), the grade "
     "(`avfilter.lut3d`), dissolves, dips and wipes with the renderer's easing, held last frames, the "
     "soundtrack with its gain, beat markers (Shotcut markers, Kdenlive guides)",
     "footage at another rate: MLT shows the nearest footage frame, the renderer the one at or before "
     "(some frames one footage frame apart); the wipe's edge follows MLT's luma map (a few pixels); "
     "transitions are nested tractors keyed per frame (clips, not Shotcut transitions, in the editor); "
     "colours differ slightly (melt's scaling and YUV conversion)"),
]


def readme_table() -> str:
    """:data:`FORMAT_NOTES` as a markdown table (for README.md)."""
    rows = ["| format | opens in | carries | loses |", "|---|---|---|---|"]
    rows += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in FORMAT_NOTES]
    return "\n".join(rows)


def bundle_readme(title: str = "clipzy edit") -> str:
    """The ``README.txt`` of a project bundle: which file to open where and what each loses."""
    wrap = textwrap.TextWrapper(width=96, initial_indent="    ", subsequent_indent="    ")
    lines = [title, "", "Editor timelines of a Clipzy apply job. Unzip the folder anywhere and open:", ""]
    for (fmt, where, carries, loses), name in zip(FORMAT_NOTES, FORMATS.values()):
        label = re.sub(r"^`[^`]*` \((.*)\)$", r"\1", fmt)
        lines += [f"* {name} ({label}) in {where.replace('`', '')}",
                  *wrap.wrap("carries: " + carries.replace("`", "")), *wrap.wrap("loses: " + loses.replace("`", "")),
                  ""]
    lines += textwrap.wrap(
        "All but the MLT file start each transition at the cut, as the render does (editors that centre "
        "transitions on the edit move them), and show the outgoing clip's following media under a "
        "transition where the render holds its shot's last frame.", 96)
    lines += ["", "Folders: media/ the source clips; grade/ the .cube LUTs named per clip in the timelines;",
              "audio/soundtrack.wav the rendered soundtrack (already mixed and normalised).",
              "Render the MLT file in this folder with: melt timeline.mlt -consumer avformat:out.mp4", ""]
    return "\n".join(lines)


@dataclass(frozen=True)
class TimelineMedia:
    """A footage clip: ``path`` on disk, ``name`` its file name in the bundle (``media/<name>``;
    also the clip name in the timelines — Resolve shows media offline otherwise) and ``info``
    its probed properties."""

    path: str
    name: str
    info: VideoInfo


def _default_media_url(name: str) -> str:
    return f"{MEDIA_DIR}/{name}"


def source_in_frame(footage_in_s: float, footage_fps: float | Fraction) -> int:
    """The footage frame the renderer shows first for a segment starting at ``footage_in_s``
    (the last frame whose timestamp is ≤ that time + 1 ms), counted in the footage's frames."""
    return int(math.floor((footage_in_s + SHOW_EPS_S) * float(footage_fps) + 1e-9))


def shown_frame(footage_in_s: float, k: int, fps: float | Fraction, footage_fps: float | Fraction) -> int:
    """The footage frame the renderer shows on output frame ``k`` of a segment (1:1 speed)."""
    return int(math.floor((footage_in_s + k / float(fps) + SHOW_EPS_S) * float(footage_fps) + 1e-9))


def beat_frame(t_s: float, fps: float | Fraction) -> int:
    """The first output frame at or after ``t_s`` (where a beat-synced cut lands)."""
    return int(math.ceil(t_s * float(fps) - 1e-6))


def transition_frames(plan: EditPlan, i: int) -> int:
    """Frames of segment ``i``'s incoming transition as the renderer plays them (0: a cut)."""
    seg = plan.segments[i]
    if i == 0 or seg.transition_in.type == "cut":
        return 0
    return max(0, min(seg.frames, seg.transition_in.frames))


def transition_progress(frames: int, easing: str) -> list[float]:
    """The renderer's shaped progress p of each of a transition's ``frames`` frames."""
    return [ease((k + 1) / (frames + 1), easing) for k in range(frames)]


def crop_transform(key: CropKey | Mapping[str, float], footage_size: tuple[int, int],
                   output_size: tuple[int, int]) -> dict[str, float]:
    """A crop window as a scale and position: ``scale_x``/``scale_y`` output pixels per footage
    pixel, ``x``/``y`` the footage centre's offset from the frame centre in output pixels (+y down)."""
    k = key if isinstance(key, Mapping) else {"x": key.x, "y": key.y, "width": key.width, "height": key.height}
    fw, fh = footage_size
    W, H = output_size
    sx, sy = W / float(k["width"]), H / float(k["height"])
    cx, cy = k["x"] + k["width"] / 2.0, k["y"] + k["height"] / 2.0
    return {"scale_x": sx, "scale_y": sy, "x": (fw / 2.0 - cx) * sx, "y": (fh / 2.0 - cy) * sy}


def _crop_keys(seg: Segment) -> list[dict[str, float]]:
    return [{"t_s": k.t_s, "x": k.x, "y": k.y, "width": k.width, "height": k.height} for k in seg.crop]


# -- the OTIO timeline ----------------------------------------------------------------------


def _rt(frames: float | Fraction, rate: Fraction) -> opentime.RationalTime:
    return opentime.RationalTime(float(frames), float(rate))


def _fraction_str(x: Fraction) -> str:
    return f"{x.numerator}/{x.denominator}" if x.denominator != 1 else str(x.numerator)


def _check(plan: EditPlan, clips: Sequence[TimelineMedia]) -> None:
    if not plan.segments:
        raise ValueError("the edit plan has no segments")
    names = [c.name for c in clips]
    for c in clips:
        if not c.name or "/" in c.name or "\\" in c.name or c.name in (".", ".."):
            raise ValueError(f"clip name must be a plain file name, got {c.name!r}")
    if len(set(names)) != len(names):
        raise ValueError(f"clip names must be unique, got {names}")
    pos = 0
    for s in plan.segments:
        if not 0 <= s.clip < len(clips):
            raise ValueError(f"segment {s.index} names clip {s.clip}, only {len(clips)} given")
        if s.output_in_frame != pos or s.frames < 1:
            raise ValueError(f"segment {s.index} does not follow on frame {pos}")
        pos = s.output_out_frame
    if pos != plan.output.frame_count:
        raise ValueError(f"segments cover {pos} frames, the output has {plan.output.frame_count}")


def _video_track(plan: EditPlan, clips: Sequence[TimelineMedia], luts: Mapping[str, str],
                 media_url: Callable[[str], str], fps: Fraction, out_size: tuple[int, int]) -> otio.schema.Track:
    """The V1 track of :func:`build_timeline`: a transition before each segment that has one,
    then the segment as a clip of its footage (source range, crop, transform, grade)."""
    video = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    refs: dict[int, otio.schema.ExternalReference] = {}
    for i, seg in enumerate(plan.segments):
        media = clips[seg.clip]
        ffps = rational(media.info.frame_rate)
        d = transition_frames(plan, i)
        if d:
            tr = seg.transition_in
            spec = TRANSITIONS[tr.type]
            video.append(otio.schema.Transition(
                name=spec["name"], transition_type=spec["otio"], in_offset=_rt(0, fps), out_offset=_rt(d, fps),
                metadata={META: {"type": tr.type, "frames": d, "easing": tr.easing, "alignment": "start",
                                 "progress": "p = ease((k + 1) / (frames + 1))"}}))
        n = seg.frames
        src_in = source_in_frame(seg.footage_in_s, ffps)
        src_last = shown_frame(seg.footage_in_s, n - 1, fps, ffps)
        if seg.clip not in refs:
            total = max(1, int(media.info.frame_count) or int(round(media.info.duration_seconds * float(ffps))))
            refs[seg.clip] = otio.schema.ExternalReference(
                target_url=media_url(media.name),
                available_range=opentime.TimeRange(_rt(0, ffps), _rt(total, ffps)),
                metadata={META: {"width": media.info.width, "height": media.info.height,
                                 "frame_rate": _fraction_str(ffps), "rotation": media.info.rotation,
                                 "has_audio": media.info.has_audio}})
        fsize = (media.info.width, media.info.height)
        keys = _crop_keys(seg)
        grade = luts.get(seg.lut)
        clip = otio.schema.Clip(
            name=media.name,
            media_reference=copy.deepcopy(refs[seg.clip]),
            source_range=opentime.TimeRange(_rt(src_in, ffps), _rt(Fraction(n) * ffps / fps, ffps)),
            metadata={META: {
                "segment": seg.index, "clip": seg.clip, "video_id": seg.video_id,
                "record_in_frame": seg.output_in_frame, "record_out_frame": seg.output_out_frame,
                "source_in_frame": src_in, "source_out_frame": src_last + 1,
                "footage_in_s": seg.footage_in_s, "footage_out_s": seg.footage_out_s, "tail_s": seg.tail_s,
                "on_beat": seg.on_beat,
                "crop": {"footage_size": list(fsize), "output_size": list(out_size), "keys": keys},
                "transform": {"keys": [{"t_s": k["t_s"], **crop_transform(k, fsize, out_size)} for k in keys]},
                "grade": {"name": seg.lut, "file": grade} if grade else None,
            }})
        video.append(clip)
    return video


def build_timeline(plan: EditPlan, *, clips: Sequence[TimelineMedia], soundtrack: str | None = None,
                   luts: Mapping[str, str] | None = None, media_url: Callable[[str], str] = _default_media_url,
                   title: str = "clipzy edit", soundtrack_gain_db: float = 0.0) -> otio.schema.Timeline:
    """The edit plan as one OTIO timeline (module docstring).

    ``clips[seg.clip]``: each footage clip the segments name. ``soundtrack``: the soundtrack
    WAV's reference (bundle-relative, e.g. :data:`SOUNDTRACK_PATH`) or None (no audio track).
    ``luts``: LUT name → the ``.cube`` reference (bundle-relative, e.g. ``grade/clip.cube``);
    a segment whose LUT is not in it is not graded. ``media_url``: a clip's bundle name → the
    reference written for it. ``soundtrack_gain_db``: the level the editor applies to the WAV.
    """
    _check(plan, clips)
    luts = dict(luts or {})
    fps = rational(plan.fps)
    out_size = (plan.output.width, plan.output.height)
    tl = otio.schema.Timeline(name=title, global_start_time=_rt(0, fps))
    tl.metadata[META] = {
        "version": 1,
        "output": {"width": plan.output.width, "height": plan.output.height, "frame_rate": _fraction_str(fps),
                   "frame_count": plan.output.frame_count},
        "luts": luts,
        "soundtrack": {"source": plan.soundtrack.source, "gain_db": soundtrack_gain_db,
                       "normalisation_gain_db": plan.soundtrack.gain_db, "target_lufs": plan.soundtrack.target_lufs},
    }
    video = _video_track(plan, clips, luts, media_url, fps, out_size)
    tl.tracks.append(video)
    if soundtrack:
        audio = otio.schema.Track(name="A1", kind=otio.schema.TrackKind.Audio)
        whole = opentime.TimeRange(_rt(0, fps), _rt(plan.output.frame_count, fps))
        audio.append(otio.schema.Clip(
            name=os.path.basename(soundtrack),
            media_reference=otio.schema.ExternalReference(target_url=soundtrack, available_range=whole),
            source_range=whole, metadata={META: {"gain_db": soundtrack_gain_db, "soundtrack": True}}))
        tl.tracks.append(audio)
    for t_s, down in _beats(plan):
        tl.tracks.markers.append(otio.schema.Marker(
            name="downbeat" if down else "beat",
            marked_range=opentime.TimeRange(_rt(beat_frame(t_s, fps), fps), _rt(0, fps)),
            color=otio.schema.MarkerColor.RED if down else otio.schema.MarkerColor.YELLOW,
            metadata={META: {"time_s": t_s, "downbeat": down}}))
    return tl


def _beats(plan: EditPlan) -> list[tuple[float, bool]]:
    """(time, is a downbeat) of every soundtrack beat whose frame lies inside the edit."""
    fps = rational(plan.fps)
    n = plan.output.frame_count
    downs = [float(d) for d in plan.soundtrack_downbeats_s]
    seen: dict[int, tuple[float, bool]] = {}
    for t in sorted({float(b) for b in plan.soundtrack_beats_s} | set(downs)):
        f = beat_frame(t, fps)
        if t < 0 or not 0 <= f < n:
            continue
        down = any(abs(t - d) < 1e-3 for d in downs)
        if f not in seen or (down and not seen[f][1]):
            seen[f] = (t, down)
    return [seen[f] for f in sorted(seen)]


# -- shared readers of the timeline -------------------------------------------------------


@dataclass(frozen=True)
class _Item:
    """A video clip of the timeline with what the writers need."""

    clip: otio.schema.Clip
    meta: dict[str, Any]
    rec_in: int
    rec_out: int
    ffps: Fraction
    trans: dict[str, Any] | None  # clipzy metadata of the incoming transition

    @property
    def frames(self) -> int:
        return self.rec_out - self.rec_in


def _items(tl: otio.schema.Timeline) -> tuple[list[_Item], Fraction]:
    meta = tl.metadata[META]
    fps = Fraction(meta["output"]["frame_rate"])
    video = next(t for t in tl.tracks if t.kind == otio.schema.TrackKind.Video)
    out: list[_Item] = []
    pending = None
    for child in video:
        if isinstance(child, otio.schema.Transition):
            pending = dict(child.metadata[META])
            continue
        m = dict(child.metadata[META])
        ffps = Fraction(child.media_reference.metadata[META]["frame_rate"])
        out.append(_Item(child, _plain(m), int(m["record_in_frame"]), int(m["record_out_frame"]), ffps, pending))
        pending = None
    return out, fps


def _plain(x: Any) -> Any:
    """OTIO's AnyDictionary/AnyVector as plain dicts and lists."""
    if hasattr(x, "items"):
        return {k: _plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)) or (hasattr(x, "__iter__") and not isinstance(x, str)):
        return [_plain(v) for v in x]
    return x


def _soundtrack_clip(tl: otio.schema.Timeline) -> otio.schema.Clip | None:
    for t in tl.tracks:
        if t.kind == otio.schema.TrackKind.Audio:
            for c in t:
                if isinstance(c, otio.schema.Clip):
                    return c
    return None


def _markers(tl: otio.schema.Timeline) -> list[tuple[int, str, bool]]:
    return [(int(round(m.marked_range.start_time.value)), m.name, bool(m.metadata[META]["downbeat"]))
            for m in tl.tracks.markers]


def _rtime(x: Fraction) -> str:
    """A rational time as FCPXML writes it ("0s", "5s", "1001/30000s")."""
    x = Fraction(x)
    if x == 0:
        return "0s"
    return f"{x.numerator}s" if x.denominator == 1 else f"{x.numerator}/{x.denominator}s"


# -- FCPXML (by hand) -------------------------------------------------------------------------


def _fcpx_assets(res: ET.Element, ids, items: list, tl: otio.schema.Timeline, total_s: Fraction
                 ) -> tuple[dict[tuple[Fraction, int, int], str], dict[str, str], Any, str | None]:
    """The FCPXML ``resources`` for the clips and the soundtrack (``total_s`` seconds long):
    (format id per (rate, width, height), asset id per media URL, the soundtrack clip or None,
    its asset id or None)."""
    formats: dict[tuple[Fraction, int, int], str] = {}
    assets: dict[str, str] = {}
    for it in items:
        ref = it.clip.media_reference
        rm = _plain(ref.metadata[META])
        key = (it.ffps, rm["width"], rm["height"])
        if key not in formats:
            formats[key] = next(ids)
            ET.SubElement(res, "format", id=formats[key], frameDuration=_rtime(1 / it.ffps),
                          width=str(rm["width"]), height=str(rm["height"]))
        if ref.target_url not in assets:
            assets[ref.target_url] = next(ids)
            dur = Fraction(round(ref.available_range.duration.value)) / it.ffps
            ET.SubElement(res, "asset", id=assets[ref.target_url], name=it.clip.name, src=ref.target_url, start="0s",
                          duration=_rtime(dur), hasVideo="1", hasAudio="1" if rm["has_audio"] else "0",
                          format=formats[key], audioSources="1" if rm["has_audio"] else "0", audioChannels="2",
                          audioRate="48000")
    sound = _soundtrack_clip(tl)
    sound_id = None
    if sound is not None:
        sound_id = next(ids)
        ET.SubElement(res, "asset", id=sound_id, name=sound.name, src=sound.media_reference.target_url, start="0s",
                      duration=_rtime(total_s), hasVideo="0", hasAudio="1", audioSources="1",
                      audioChannels="2", audioRate="48000")
    return formats, assets, sound, sound_id


def fcpxml_string(tl: otio.schema.Timeline) -> str:
    """The timeline as FCPXML 1.8 (module docstring)."""
    items, fps = _items(tl)
    meta = _plain(tl.metadata[META])
    W, H = meta["output"]["width"], meta["output"]["height"]
    n_total = meta["output"]["frame_count"]
    frame = 1 / fps
    root = ET.Element("fcpxml", version="1.8")
    res = ET.SubElement(root, "resources")
    ids = iter(f"r{i}" for i in range(1, 10_000))
    seq_fmt = next(ids)
    ET.SubElement(res, "format", id=seq_fmt, frameDuration=_rtime(frame), width=str(W), height=str(H))
    formats, assets, sound, sound_id = _fcpx_assets(res, ids, items, tl, Fraction(n_total) / fps)
    effects: dict[str, str] = {}

    def effect(name: str, uid: str) -> str:
        if name not in effects:
            effects[name] = next(ids)
            ET.SubElement(res, "effect", id=effects[name], name=name, uid=uid)
        return effects[name]

    library = ET.SubElement(root, "library")
    event = ET.SubElement(library, "event", name=tl.name)
    project = ET.SubElement(event, "project", name=tl.name)
    seq = ET.SubElement(project, "sequence", format=seq_fmt, duration=_rtime(Fraction(n_total) / fps), tcStart="0s",
                        tcFormat="NDF", audioLayout="stereo", audioRate="48k")
    spine = ET.SubElement(seq, "spine")
    markers = _markers(tl)
    for idx, it in enumerate(items):
        m = it.meta
        if it.trans:
            t = it.trans
            d = int(t["frames"])
            if t["type"] == "fade":
                el = ET.SubElement(spine, "transition", name="Dip to Color", offset=_rtime(it.rec_in * frame),
                                   duration=_rtime(d * frame))
                ET.SubElement(el, "filter-video", ref=effect("Fade To Color", FCPX_FADE_TO_COLOR), name="Fade To Color")
            else:  # dissolve; a wipe too (no verified Final Cut Pro wipe uid)
                el = ET.SubElement(spine, "transition", name="Cross Dissolve", offset=_rtime(it.rec_in * frame),
                                   duration=_rtime(d * frame))
                ET.SubElement(el, "filter-video", ref=effect("Cross Dissolve", FCPX_CROSS_DISSOLVE), name="Cross Dissolve")
        start = Fraction(int(m["source_in_frame"])) / it.ffps
        rm = _plain(it.clip.media_reference.metadata[META])
        ac = ET.SubElement(spine, "asset-clip", ref=assets[it.clip.media_reference.target_url], name=it.clip.name,
                           offset=_rtime(it.rec_in * frame), start=_rtime(start), duration=_rtime(it.frames * frame),
                           format=formats[(it.ffps, rm["width"], rm["height"])], tcFormat="NDF", srcEnable="video")
        grade = m.get("grade")
        if grade:
            ET.SubElement(ac, "note").text = f"grade: {grade['file']} (3D LUT, apply to this clip)"
        if it.ffps != fps and _fcpx_rate_name(it.ffps):  # played at its own speed (no rate conform)
            ET.SubElement(ac, "conform-rate", scaleEnabled="0", srcFrameRate=_fcpx_rate_name(it.ffps))
        _fcpx_transform(ac, m, start, (rm["width"], rm["height"]), (W, H))
        if idx == 0 and sound is not None:
            snd = ET.SubElement(ac, "asset-clip", ref=sound_id, name=sound.name, lane="-1", offset=_rtime(start),
                                start="0s", duration=_rtime(Fraction(n_total) / fps), srcEnable="audio")
            gain = float(_plain(sound.metadata[META]).get("gain_db") or 0.0)
            if gain:
                ET.SubElement(snd, "adjust-volume", amount=f"{gain:.2f}dB")
        for f, name, down in markers:
            if it.rec_in <= f < it.rec_out:
                ET.SubElement(ac, "marker", start=_rtime(start + (f - it.rec_in) * frame), duration=_rtime(frame),
                              value=name)
        if grade:
            ET.SubElement(ET.SubElement(ac, "metadata"), "md", key="com.clipzy.grade", value=grade["file"])
    ET.indent(root, space="  ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE fcpxml>\n' + ET.tostring(root, encoding="unicode") + "\n"


#: ``srcFrameRate`` values FCPXML's ``conform-rate`` accepts.
_FCPX_RATES = {Fraction(24000, 1001): "23.98", Fraction(24): "24", Fraction(25): "25", Fraction(30000, 1001): "29.97",
               Fraction(30): "30", Fraction(50): "50", Fraction(60000, 1001): "59.94", Fraction(60): "60"}


def _fcpx_rate_name(r: Fraction) -> str | None:
    return _FCPX_RATES.get(r)


def _fcpx_transform(ac: ET.Element, m: Mapping[str, Any], start: Fraction, fsize: tuple[int, int],
                    out: tuple[int, int]) -> None:
    """``adjust-conform`` fit + ``adjust-transform`` (scale relative to the fit, position in
    percent of the frame height, +y up), keyframed in the clip's local time when it moves."""
    W, H = out
    fw, fh = fsize
    fit = min(W / fw, H / fh)
    keys = m["transform"]["keys"]

    def vals(k: Mapping[str, float]) -> tuple[str, str]:
        pos = f"{_num(k['x'] * 100.0 / H)} {_num(-k['y'] * 100.0 / H)}"
        scale = f"{_num(k['scale_x'] / fit)} {_num(k['scale_y'] / fit)}"
        return pos, scale

    ET.SubElement(ac, "adjust-conform", type="fit")
    pos0, scale0 = vals(keys[0])
    at = ET.SubElement(ac, "adjust-transform", position=pos0, scale=scale0)
    for name, j in (("position", 0), ("scale", 1)):
        if len({vals(k)[j] for k in keys}) > 1:
            anim = ET.SubElement(ET.SubElement(at, "param", name=name), "keyframeAnimation")
            for k in keys:
                t = start + Fraction(float(k["t_s"])).limit_denominator(100_000)
                ET.SubElement(anim, "keyframe", time=_rtime(t), value=vals(k)[j])


def _num(x: float) -> str:
    s = f"{x:.6f}".rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s


# -- FCP 7 XML (adapter + post-processing) --------------------------------------------------


def fcp7_xml_string(tl: otio.schema.Timeline) -> str:
    """The timeline as Final Cut Pro 7 XML: OTIO's ``fcp_xml`` adapter, post-processed
    (module docstring)."""
    items, fps = _items(tl)
    meta = _plain(tl.metadata[META])
    W, H = meta["output"]["width"], meta["output"]["height"]
    text = otio.adapters.write_to_string(_smpte_file_timecodes(tl), adapter_name="fcp_xml")
    root = ET.fromstring(text.encode("utf-8"))
    seq = root.find("./project/children/sequence")
    if seq is None:
        raise RuntimeError("the fcp_xml adapter wrote no sequence")
    vformat = seq.find("./media/video/format")
    sc = ET.SubElement(vformat, "samplecharacteristics")
    sc.append(_fcp7_rate(fps))
    ET.SubElement(sc, "width").text = str(W)
    ET.SubElement(sc, "height").text = str(H)
    ET.SubElement(sc, "pixelaspectratio").text = "square"
    ET.SubElement(sc, "fielddominance").text = "none"
    vtrack = seq.find("./media/video/track")
    children = list(vtrack)
    clip_els = [c for c in children if c.tag == "clipitem"]
    if len(clip_els) != len(items):
        raise RuntimeError(f"the fcp_xml adapter wrote {len(clip_els)} clips for {len(items)}")
    # source in/out written here, in each clip's own frames (the adapter rescales them to the
    # sequence rate when a transition touches a clip at another rate, and rounds half to even)
    handles = [0] * len(items)  # the outgoing clip continues under the next transition: its handle
    for pos, el in enumerate(children):
        if el.tag != "transitionitem":
            continue
        k = sum(1 for c in children[:pos] if c.tag == "clipitem")  # the transition leads into clip k
        _fcp7_transition(el, items[k].trans)
        handles[k - 1] = int(items[k].trans["frames"])
        clip_els[k - 1].find("end").text = "-1"
        clip_els[k].find("start").text = "-1"
    for it, el, handle in zip(items, clip_els, handles):
        src_in = int(it.meta["source_in_frame"])
        el.find("in").text = str(src_in)
        el.find("out").text = str(src_in + _frames_at(it.frames + handle, fps, it.ffps))
        el.find("duration").text = str(int(round(it.clip.media_reference.available_range.duration.value)))
    for it, el in zip(items, clip_els):
        rm = _plain(it.clip.media_reference.metadata[META])
        fel = el.find("file")
        if not smpte_rate(it.ffps):  # the clip's own rate again (see _smpte_file_timecodes)
            for r in el.findall("rate"):
                idx = list(el).index(r)
                el.remove(r)
                el.insert(idx, _fcp7_rate(it.ffps))
        if fel is not None and fel.find("rate") is not None and not smpte_rate(it.ffps):
            idx = list(fel).index(fel.find("rate"))
            fel.remove(fel.find("rate"))
            fel.insert(idx, _fcp7_rate(it.ffps))
            fel.find("duration").text = str(int(round(it.clip.media_reference.available_range.duration.value)))
        if fel is not None and fel.find("media/video") is not None:
            vs = fel.find("media/video")
            if vs.find("samplecharacteristics") is None:
                s2 = ET.SubElement(vs, "samplecharacteristics")
                s2.append(_fcp7_rate(it.ffps))
                ET.SubElement(s2, "width").text = str(rm["width"])
                ET.SubElement(s2, "height").text = str(rm["height"])
        _fcp7_motion(el, it, (rm["width"], rm["height"]), (W, H))
        grade = it.meta.get("grade")
        if grade:
            c = ET.SubElement(el, "comments")
            ET.SubElement(c, "mastercomment1").text = f"grade: {grade['file']} (3D LUT)"
            lab = ET.SubElement(el, "labels")
            ET.SubElement(lab, "label2").text = f"LUT {os.path.basename(grade['file'])}"
    sound = _soundtrack_clip(tl)
    if sound is not None:
        gain = float(_plain(sound.metadata[META]).get("gain_db") or 0.0)
        for el in seq.findall("./media/audio/track/clipitem"):
            _fcp7_audio_levels(el, gain)
    for mk in seq.findall("marker"):  # name the colour FCP 7 cannot carry
        name = mk.find("name")
        if name is not None and name.text == "downbeat":
            ET.SubElement(mk, "comment").text = "downbeat (red)"
    ET.indent(root, space="  ")
    return '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE xmeml>\n' + ET.tostring(root, encoding="unicode") + "\n"


def smpte_rate(rate: float | Fraction) -> bool:
    """Whether SMPTE timecode (and so CMX 3600 and FCP 7 timecodes) has a number for ``rate``."""
    try:
        opentime.to_timecode(opentime.RationalTime(1, float(rate)), float(rate))
        return True
    except ValueError:
        return False


def _smpte_file_timecodes(tl: otio.schema.Timeline) -> otio.schema.Timeline:
    """A copy of ``tl`` for the ``fcp_xml`` adapter, which writes a timecode for every file:
    footage at a rate SMPTE timecode cannot count (20 fps, 15 fps …) gets its ranges rescaled
    to 30 fps there; :func:`fcp7_xml_string` then writes the file's own rate, duration and the
    clip's in/out points in its own frames again."""
    out = copy.deepcopy(tl)
    for clip in out.find_clips():
        ref = clip.media_reference
        rng = getattr(ref, "available_range", None)
        if rng is None or smpte_rate(rng.start_time.rate):
            continue
        ref.available_range = opentime.TimeRange(rng.start_time.rescaled_to(30), rng.duration.rescaled_to(30))
        if clip.source_range is not None:
            sr = clip.source_range
            clip.source_range = opentime.TimeRange(sr.start_time.rescaled_to(30), sr.duration.rescaled_to(30))
    return out


def _frames_at(frames: int, fps: Fraction, rate: Fraction) -> int:
    """``frames`` output frames counted in frames at ``rate`` (nearest, halves up)."""
    return int(math.floor(Fraction(frames) * rate / fps + Fraction(1, 2)))


def _fcp7_rate(r: Fraction) -> ET.Element:
    e = ET.Element("rate")
    tb = math.ceil(float(r) - 1e-9)
    ET.SubElement(e, "timebase").text = str(tb)
    ET.SubElement(e, "ntsc").text = "FALSE" if r.denominator == 1 else "TRUE"
    return e


def _fcp7_transition(el: ET.Element, t: Mapping[str, Any]) -> None:
    spec = TRANSITIONS[t["type"]]
    el.find("alignment").text = "start"  # it begins at the cut (the adapter wrote start-black)
    eff = el.find("effect")
    for child in list(eff):
        eff.remove(child)
    ET.SubElement(eff, "name").text = spec["name"]
    ET.SubElement(eff, "effectid").text = spec["fcp7_id"]
    ET.SubElement(eff, "effectcategory").text = spec["fcp7_category"]
    ET.SubElement(eff, "effecttype").text = "transition"
    ET.SubElement(eff, "mediatype").text = "video"
    if t["type"] == "fade":
        p = ET.SubElement(eff, "parameter")
        ET.SubElement(p, "parameterid").text = "dipcolor"
        ET.SubElement(p, "name").text = "Color"
        v = ET.SubElement(p, "value")
        for ch, val in (("alpha", "255"), ("red", "0"), ("green", "0"), ("blue", "0")):
            ET.SubElement(v, ch).text = val
    elif t["type"] == "wipe":
        p = ET.SubElement(eff, "parameter")
        ET.SubElement(p, "parameterid").text = "angle"
        ET.SubElement(p, "name").text = "Angle"
        ET.SubElement(p, "value").text = "0"  # a vertical edge moving left to right


def _fcp7_param(effect: ET.Element, pid: str, name: str, lo: str | None = None, hi: str | None = None) -> ET.Element:
    p = ET.SubElement(effect, "parameter")
    ET.SubElement(p, "parameterid").text = pid
    ET.SubElement(p, "name").text = name
    if lo is not None:
        ET.SubElement(p, "valuemin").text = lo
        ET.SubElement(p, "valuemax").text = hi
    return p


def _fcp7_motion(el: ET.Element, it: _Item, fsize: tuple[int, int], out: tuple[int, int]) -> None:
    """A Basic Motion filter: scale in percent of the media's pixel size, centre as a fraction
    of the sequence width/height from its centre (+down), keyframes at source frames."""
    W, H = out
    keys = it.meta["transform"]["keys"]
    src_in = int(it.meta["source_in_frame"])
    filt = ET.SubElement(el, "filter")
    eff = ET.SubElement(filt, "effect")
    ET.SubElement(eff, "name").text = "Basic Motion"
    ET.SubElement(eff, "effectid").text = "basic"
    ET.SubElement(eff, "effectcategory").text = "motion"
    ET.SubElement(eff, "effecttype").text = "motion"
    ET.SubElement(eff, "mediatype").text = "video"

    def scale(k: Mapping[str, float]) -> str:
        return _num(100.0 * (k["scale_x"] + k["scale_y"]) / 2.0)

    def centre(parent: ET.Element, k: Mapping[str, float]) -> None:
        v = ET.SubElement(parent, "value")
        ET.SubElement(v, "horiz").text = _num(k["x"] / W)
        ET.SubElement(v, "vert").text = _num(k["y"] / H)

    moves = len({(scale(k), _num(k["x"]), _num(k["y"])) for k in keys}) > 1
    ps = _fcp7_param(eff, "scale", "Scale", "0", "1000")
    ET.SubElement(ps, "value").text = scale(keys[0])
    pc = _fcp7_param(eff, "center", "Center")
    centre(pc, keys[0])
    if moves:
        for k in keys:
            when = str(src_in + int(round(float(k["t_s"]) * float(it.ffps))))
            kf = ET.SubElement(ps, "keyframe")
            ET.SubElement(kf, "when").text = when
            ET.SubElement(kf, "value").text = scale(k)
            kc = ET.SubElement(pc, "keyframe")
            ET.SubElement(kc, "when").text = when
            centre(kc, k)


def _fcp7_audio_levels(el: ET.Element, gain_db: float) -> None:
    filt = ET.SubElement(el, "filter")
    eff = ET.SubElement(filt, "effect")
    ET.SubElement(eff, "name").text = "Audio Levels"
    ET.SubElement(eff, "effectid").text = "audiolevels"
    ET.SubElement(eff, "effectcategory").text = "audiolevels"
    ET.SubElement(eff, "effecttype").text = "audiolevels"
    ET.SubElement(eff, "mediatype").text = "audio"
    p = _fcp7_param(eff, "level", "Level", "0", "3.98109")
    ET.SubElement(p, "value").text = _num(10.0 ** (gain_db / 20.0))


# -- CMX 3600 EDL (adapter on a single-rate view + post-processing) --------------------------


def edl_string(tl: otio.schema.Timeline) -> str:
    """The video track as a CMX 3600 EDL (module docstring)."""
    items, fps = _items(tl)
    nominal = Fraction(math.ceil(float(fps) - 1e-9))  # non-drop timecode counts frames at the nominal rate
    view = otio.schema.Timeline(name=tl.name)
    track = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    kinds: list[str] = []  # per adapter event: the transition type leading into it ("cut" for none)
    grades: list[str | None] = []
    rec = []
    for it in items:
        reel = re.sub(r"[^A-Za-z0-9]", "", os.path.splitext(it.clip.name)[0])[:8] or "AX"
        src_in = Fraction(int(it.meta["source_in_frame"])) / it.ffps  # seconds
        # source timecode at the output rate: exact when the rates agree, else the nearest frame
        s_in = int(round(src_in * fps))
        grade = (it.meta.get("grade") or {}).get("file")

        def clip(src_frames: int, frames: int, name: str = it.clip.name, r: str = reel) -> otio.schema.Clip:
            c = otio.schema.Clip(name=name, source_range=opentime.TimeRange(_rt(src_frames, nominal), _rt(frames, nominal)),
                                 media_reference=otio.schema.ExternalReference(target_url=it.clip.media_reference.target_url))
            c.metadata["cmx_3600"] = {"reel": r}
            return c

        t = it.trans
        d = int(t["frames"]) if t else 0
        m = fade_switch(d, t["easing"]) if t and t["type"] == "fade" else 0
        if 0 < m < min(d, it.frames):  # a dip: to black ``BL`` over m frames, then from black
            track.append(otio.schema.Transition(name="Dissolve", in_offset=_rt(0, nominal), out_offset=_rt(m, nominal)))
            black = otio.schema.Clip(name="BL", source_range=opentime.TimeRange(_rt(0, nominal), _rt(m, nominal)),
                                     media_reference=otio.schema.GeneratorReference(generator_kind="black"))
            black.metadata["cmx_3600"] = {"reel": "BL"}
            track.append(black)
            kinds.append("dip-out")
            grades.append(None)
            rec.append((it.rec_in, it.rec_in + m))
            track.append(otio.schema.Transition(name="Dissolve", in_offset=_rt(0, nominal),
                                                out_offset=_rt(d - m, nominal)))
            track.append(clip(s_in + m, it.frames - m))
            kinds.append("dip-in")
            grades.append(grade)
            rec.append((it.rec_in + m, it.rec_out))
            continue
        if d:  # (a fade too short to split around black is written as a dissolve)
            track.append(otio.schema.Transition(name="Dissolve", in_offset=_rt(0, nominal), out_offset=_rt(d, nominal)))
        track.append(clip(s_in, it.frames))
        kinds.append(t["type"] if t else "cut")
        grades.append(grade)
        rec.append((it.rec_in, it.rec_out))
    view.tracks.append(track)
    text = otio.adapters.write_to_string(view, adapter_name="cmx_3600", rate=float(nominal), style="avid")
    return _edl_post(text, kinds, grades, rec, _markers(tl), nominal)


def fade_switch(frames: int, easing: str) -> int:
    """The first frame of a fade (dip to black) on which the incoming picture shows: the
    renderer's progress p reaches ½ (0..frames; the outgoing picture shows before it)."""
    ps = transition_progress(frames, easing)
    return next((k for k, p in enumerate(ps) if p >= 0.5), frames)


def _edl_post(text: str, kinds: list[str], grades: list[str | None], rec: list[tuple[int, int]],
              markers: list[tuple[int, str, bool]], nominal: Fraction) -> str:
    lines = text.splitlines()
    out: list[str] = []
    event = -1
    num = None
    header_done = False
    for line in lines:
        mobj = re.match(r"^(\d{3})\s", line)
        if mobj:
            if mobj.group(1) != num:
                if num is not None:
                    out.extend(_edl_event_comments(event, grades, rec, markers, nominal))
                num = mobj.group(1)
                event += 1
            if kinds[event] == "wipe" and re.search(r"\sD\s+\d{3}\s", line):
                line = re.sub(r"\sD(\s+)(\d{3})\s", lambda g: f" W001 {g.group(2)} ", line, count=1)
        elif line.startswith("TITLE:") and not header_done:
            out.append(line)
            out.append("FCM: NON-DROP FRAME")
            header_done = True
            continue
        out.append(line)
    if num is not None:
        out.extend(_edl_event_comments(event, grades, rec, markers, nominal))
    if not header_done:
        out.insert(0, "FCM: NON-DROP FRAME")
    return "\n".join(out).rstrip("\n") + "\n"


def _edl_event_comments(event: int, grades: list[str | None], rec: list[tuple[int, int]],
                        markers: list[tuple[int, str, bool]], nominal: Fraction) -> list[str]:
    out = []
    if grades[event]:
        out.append(f"* CLIPZY GRADE: {grades[event]}")
    a, b = rec[event]
    for f, name, down in markers:
        if a <= f < b:
            tc = opentime.to_timecode(_rt(f, nominal), float(nominal), False)
            out.append(f"* LOC: {tc} {'RED' if down else 'YELLOW':7} {name.upper()}")
    return out


# -- MLT XML (by hand) ------------------------------------------------------------------------


def mlt_in_position(footage_in_s: float, frames: int, fps: Fraction, footage_fps: Fraction) -> int:
    """The profile position to start a footage entry at so that MLT's conform (position p shows
    the footage frame nearest p × footage fps / output fps) shows the renderer's frames: exact
    when the rates agree, else the start that matches the most of the segment's frames without
    showing a frame outside them (no frame of a neighbouring shot)."""
    if footage_fps == fps:
        return max(0, source_in_frame(footage_in_s, footage_fps))
    want = [shown_frame(footage_in_s, k, fps, footage_fps) for k in range(frames)]
    r = footage_fps / fps
    base = int(math.floor(footage_in_s * float(fps)))
    best, best_score = max(0, base), (-1, -1)
    for p0 in range(max(0, base - 3), base + 4):
        shown = [_mlt_frame(p0 + k, r) for k in range(frames)]
        inside = want[0] <= min(shown) and max(shown) <= want[-1]
        score = (int(inside), sum(1 for a, w in zip(shown, want) if a == w))
        if score > best_score:
            best, best_score = p0, score
    return best


def _mlt_frame(position: int, r: Fraction) -> int:
    """The footage frame MLT's avformat producer shows at a profile position (nearest, half up)."""
    return int(math.floor(position * r + Fraction(1, 2)))


def _mlt_time(frames: int, fps: Fraction) -> str:
    t = Fraction(frames) / fps
    ms = int(round(t * 1000))
    return f"{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d}.{ms % 1000:03d}"


class _Mlt:
    """Builds the MLT document of a plan (see :func:`mlt_string`)."""

    def __init__(self, plan: EditPlan, clips: Sequence[TimelineMedia], soundtrack: str | None,
                 luts: Mapping[str, str], media_url: Callable[[str], str], title: str, gain_db: float) -> None:
        self.plan, self.clips, self.luts, self.title = plan, clips, dict(luts), title
        self.fps = rational(plan.fps)
        self.W, self.H = plan.output.width, plan.output.height
        self.media_url = media_url
        self.soundtrack = soundtrack
        self.gain_db = gain_db
        self.producers: dict[int, str] = {}
        self.root = ET.Element("mlt", LC_NUMERIC="C", version="7.0.0", title=title, producer="main")
        g = math.gcd(self.W, self.H)
        ET.SubElement(self.root, "profile", description=f"clipzy {self.W}x{self.H} {float(self.fps):.3f} fps",
                      width=str(self.W), height=str(self.H), progressive="1", sample_aspect_num="1",
                      sample_aspect_den="1", display_aspect_num=str(self.W // g), display_aspect_den=str(self.H // g),
                      frame_rate_num=str(self.fps.numerator), frame_rate_den=str(self.fps.denominator),
                      colorspace="709")

    @staticmethod
    def _props(el: ET.Element, **props: Any) -> ET.Element:
        """Add <property> children; ``__`` in a name stands for ".", ``_COLON_`` for ":"."""
        for k, v in props.items():
            ET.SubElement(el, "property", name=k.replace("__", ".").replace("_COLON_", ":")).text = str(v)
        return el

    def _producer(self, ci: int) -> str:
        if ci not in self.producers:
            media = self.clips[ci]
            pid = f"clip{ci}"
            length = int(math.ceil(media.info.duration_seconds * float(self.fps) - 1e-6)) + 1
            el = ET.SubElement(self.root, "producer", id=pid, **{"in": "0", "out": str(max(0, length - 1))})
            self._props(el, length=length, eof="pause", resource=self.media_url(media.name), mlt_service="avformat",
                        audio_index=-1, seekable=1,
                        **{"shotcut_COLON_caption": media.name, "kdenlive_COLON_clipname": media.name})
            self.producers[ci] = pid
        return self.producers[ci]

    def _ffps(self, seg: Segment) -> Fraction:
        return rational(self.clips[seg.clip].info.frame_rate)

    def _entry(self, parent: ET.Element, seg: Segment, position: int, times_s: Sequence[float], *,
               freeze: bool = False, brightness: Sequence[float] | None = None,
               reveal: Sequence[int] | None = None) -> None:
        """An entry of ``seg``'s clip from profile ``position``, one output frame per element of
        ``times_s`` (seconds after the segment's footage in point, for the crop window);
        ``freeze`` holds the footage at ``position``; ``brightness``: a level per frame (a fade);
        ``reveal``: per frame, the columns from the left edge that stay opaque (a wipe)."""
        count = len(times_s)
        pid = self._producer(seg.clip)
        if freeze:  # an entry that ends on the held position, frozen there
            start = max(0, position - (count - 1))
        else:
            start = position
        rng = {"in": str(start), "out": str(start + count - 1)}
        e = ET.SubElement(parent, "entry", producer=pid, **rng)
        if freeze:
            self._props(ET.SubElement(e, "filter", mlt_service="freeze", **rng), frame=position - start)
        media = self.clips[seg.clip]
        keys = _crop_keys(seg)
        fw, fh = media.info.width, media.info.height

        def rect(t: float) -> str:
            x, y, w, h = crop_mod.crop_at(keys, t)
            w, h = min(w, fw), min(h, fh)
            x, y = min(max(0, x), fw - w), min(max(0, y), fh - h)
            sx, sy = self.W / w, self.H / h
            return f"{_num(-x * sx)} {_num(-y * sy)} {_num(fw * sx)} {_num(fh * sy)} 1"

        lut = self.luts.get(seg.lut)
        if lut:  # the grade first: a per-pixel map, before the scaling
            self._props(ET.SubElement(e, "filter", mlt_service="avfilter.lut3d", **rng), av__file=lut,
                        av__interp="tetrahedral", shotcut_COLON_filter="lut3d")
        # crop and scale: the whole footage frame placed so that the crop window fills the output
        aff = ET.SubElement(e, "filter", mlt_service="affine", **rng)
        self._props(aff, **{"transition__rect": _mlt_anim([rect(t) for t in times_s]), "transition__distort": 1,
                            "transition__fill": 1, "background": "color:#000000ff",
                            "shotcut_COLON_filter": "affineSizePosition"})
        if brightness is not None:  # a fade: RGB scaled by the level (black at 0), per frame
            level = _mlt_anim([_num(v) for v in brightness])
            self._props(ET.SubElement(e, "filter", mlt_service="avfilter.colorchannelmixer", **rng),
                        av__rr=level, av__gg=level, av__bb=level, shotcut_COLON_filter="clipzyFade")
        if reveal is not None:  # transparent right of the wipe's edge: MLT's left-to-right luma wipe as alpha
            self._props(ET.SubElement(e, "filter", mlt_service="shape", **rng), resource="%luma01.pgm",
                        mix=_mlt_anim([_num(100.0 * c / self.W) for c in reveal], every=True), softness=0,
                        use_luminance=1, use_mix=1, invert=0, audio_match=0)

    def _outgoing(self, prev: Segment, p_in: int, d: int) -> list[tuple[int, float, bool]]:
        """For each of a transition's ``d`` frames: the outgoing segment's profile position, its
        time after the footage in point, and whether it is the held frame (the renderer continues
        the outgoing shot for its ``tail_s``, then holds its last frame)."""
        fps = float(self.fps)
        length = prev.frames / fps
        hold_t = length + prev.tail_s - 1.0 / fps
        ffps = self._ffps(prev)
        out = []
        for k in range(d):
            t = length + k / fps
            if t <= hold_t + 1e-9:
                out.append((p_in + prev.frames + k, t, False))
            else:
                want = source_in_frame(prev.footage_in_s + hold_t, ffps)
                out.append((_mlt_position_of(want, ffps / self.fps), hold_t, True))
        return out

    def _runs(self, parent: ET.Element, seg: Segment, frames: list[tuple[int, float, bool]],
              brightness: Sequence[float] | None = None) -> None:
        """Entries for consecutive outgoing frames (held ones frozen)."""
        j = 0
        while j < len(frames):
            pos, _t, held = frames[j]
            k = j + 1
            while k < len(frames) and frames[k][2] == held and (
                    frames[k][0] == pos if held else frames[k][0] == pos + (k - j)):
                k += 1
            self._entry(parent, seg, pos, [f[1] for f in frames[j:k]], freeze=held,
                        brightness=None if brightness is None else brightness[j:k])
            j = k

    def build(self) -> str:
        plan = self.plan
        segs = plan.segments
        fps = self.fps
        p_ins = [mlt_in_position(s.footage_in_s, s.frames, fps, self._ffps(s)) for s in segs]
        nested: list[ET.Element] = []  # transition playlists and tractors, defined before the main playlist
        v1 = ET.Element("playlist", id="V1")
        self._props(v1, shotcut_COLON_name="V1", shotcut_COLON_video=1)
        for i, seg in enumerate(segs):
            d = transition_frames(plan, i)
            tr = seg.transition_in
            times = [k / float(fps) for k in range(seg.frames)]
            if d == 0:
                self._entry(v1, seg, p_ins[i], times)
                continue
            prev = segs[i - 1]
            outgoing = self._outgoing(prev, p_ins[i - 1], d)
            ps = transition_progress(d, tr.easing)
            if tr.type == "fade":  # outgoing to black, then incoming from black
                m = fade_switch(d, tr.easing)
                if m:
                    self._runs(v1, prev, outgoing[:m], [1.0 - 2.0 * p for p in ps[:m]])
                if seg.frames > m:
                    self._entry(v1, seg, p_ins[i] + m, times[m:],
                                brightness=[2.0 * p - 1.0 for p in ps[m:]] + [1.0] * (seg.frames - d))
                continue
            tid = f"transition{i}"
            ta = ET.Element("playlist", id=tid + "a")
            self._runs(ta, prev, outgoing)
            tb = ET.Element("playlist", id=tid + "b")
            cols = [int(round(p * self.W)) for p in ps]
            self._entry(tb, seg, p_ins[i], times[:d], reveal=cols if tr.type == "wipe" else None)
            tractor = ET.Element("tractor", id=tid, **{"in": "0", "out": str(d - 1)})
            self._props(tractor, **{"clipzy_COLON_transition": tr.type, "clipzy_COLON_easing": tr.easing})
            ET.SubElement(tractor, "track", producer=ta.get("id"))
            ET.SubElement(tractor, "track", producer=tb.get("id"))
            tran = ET.SubElement(tractor, "transition", **{"in": "0", "out": str(d - 1)})
            # the incoming picture over the outgoing one: at opacity p (dissolve), or opaque left of
            # the wipe's edge (its right part made transparent by the entry's qtcrop filter)
            opacity = [1.0] * d if tr.type == "wipe" else ps
            rects = [f"0 0 {self.W} {self.H} {_num(p)}" for p in opacity]
            self._props(tran, a_track=0, b_track=1, mlt_service="affine", rect=_mlt_anim(rects), distort=1, fill=1)
            nested += [ta, tb, tractor]
            ET.SubElement(v1, "entry", producer=tid, **{"in": "0", "out": str(d - 1)})
            if seg.frames > d:
                self._entry(v1, seg, p_ins[i] + d, times[d:])
        for el in nested:
            self.root.append(el)
        self.root.append(v1)
        n = plan.output.frame_count
        a1 = None
        if self.soundtrack:
            sp = ET.SubElement(self.root, "producer", id="soundtrack", **{"in": "0", "out": str(n - 1)})
            self._props(sp, length=n, eof="pause", resource=self.soundtrack, mlt_service="avformat", video_index=-1)
            a1 = ET.SubElement(self.root, "playlist", id="A1")
            self._props(a1, shotcut_COLON_name="A1", shotcut_COLON_audio=1)
            ae = ET.SubElement(a1, "entry", producer="soundtrack", **{"in": "0", "out": str(n - 1)})
            if self.gain_db:
                self._props(ET.SubElement(ae, "filter", mlt_service="volume"), level=_num(self.gain_db))
        beats = _beats(plan)
        guides = [{"comment": "downbeat" if down else "beat", "pos": beat_frame(t, fps), "type": 1 if down else 0}
                  for t, down in beats]
        self._props(ET.SubElement(self.root, "playlist", id="main_bin"),
                    **{"kdenlive_COLON_docproperties__guides": json.dumps(guides), "xml_retain": 1})
        main = ET.SubElement(self.root, "tractor", id="main", title=self.title, **{"in": "0", "out": str(n - 1)})
        self._props(main, shotcut=1)
        if beats:
            mk = ET.SubElement(main, "properties", name="shotcut:markers")
            for j, (t, down) in enumerate(beats):
                f = beat_frame(t, fps)
                self._props(ET.SubElement(mk, "properties", name=str(j)), text="downbeat" if down else "beat",
                            start=_mlt_time(f, fps), end=_mlt_time(f, fps), color="#ff0000" if down else "#ffff00")
        ET.SubElement(main, "track", producer="V1")
        if a1 is not None:
            ET.SubElement(main, "track", producer="A1", hide="video")
            self._props(ET.SubElement(main, "transition", id="main_audio"), a_track=0, b_track=1, mlt_service="mix",
                        always_active=1, sum=1)
        ET.indent(self.root, space="  ")
        return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(self.root, encoding="unicode") + "\n"


def _mlt_position_of(frame: int, r: Fraction) -> int:
    """A profile position at which MLT shows footage ``frame`` (``r`` = footage fps / output fps)."""
    guess = int(round(frame / r))
    for p in (guess, guess - 1, guess + 1, guess - 2, guess + 2):
        if p >= 0 and _mlt_frame(p, r) == frame:
            return p
    return max(0, guess)


def _mlt_anim(values: Sequence[str], *, every: bool = False) -> str:
    """Per-frame values as an MLT animation string ("0=a;5=b"), thinned where linear
    interpolation between the kept keyframes reproduces them (``every``: keep all); a single
    value when constant."""
    if len(set(values)) == 1:
        return values[0]
    if every:
        keep = list(range(len(values)))
    else:
        nums = [np.array([float(x) for x in re.split(r"[ /:x]+", v.strip())]) for v in values]
        keep = [0]
        i = 0
        while i < len(values) - 1:
            j = i + 1
            while j + 1 < len(values) and _linear_ok(nums, i, j + 1):
                j += 1
            keep.append(j)
            i = j
    return ";".join(f"{k}={values[k]}" for k in keep)


def _linear_ok(nums: Sequence[np.ndarray], i: int, j: int) -> bool:
    a, b = nums[i], nums[j]
    for k in range(i + 1, j):
        v = a + (b - a) * (k - i) / (j - i)
        if np.max(np.abs(v - nums[k])) > 0.01:
            return False
    return True


def mlt_string(plan: EditPlan, *, clips: Sequence[TimelineMedia], soundtrack: str | None = None,
               luts: Mapping[str, str] | None = None, media_url: Callable[[str], str] = _default_media_url,
               title: str = "clipzy edit", soundtrack_gain_db: float = 0.0) -> str:
    """The plan as an MLT XML document (module docstring); arguments as :func:`build_timeline`."""
    _check(plan, clips)
    return _Mlt(plan, clips, soundtrack, luts or {}, media_url, title, soundtrack_gain_db).build()


# -- writing ------------------------------------------------------------------------------------


def _write_text(path: str, text: str) -> str:
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
    return path


def write_timelines(timeline: otio.schema.Timeline, plan: EditPlan, *, clips: Sequence[TimelineMedia],
                    out: Mapping[str, str], soundtrack: str | None = None, luts: Mapping[str, str] | None = None,
                    media_url: Callable[[str], str] = _default_media_url,
                    soundtrack_gain_db: float = 0.0) -> dict[str, str]:
    """Write ``timeline`` (from :func:`build_timeline` with the same arguments) in the formats
    named by ``out`` (keys of :data:`FORMATS` → file paths); returns those written. Each file
    is written atomically. An edit at a frame rate SMPTE timecode cannot count (e.g. 20 fps:
    :func:`smpte_rate`) gets no :data:`TIMECODE_FORMATS` (CMX 3600 and FCP 7 XML count in
    timecode). ``plan`` and the other arguments feed the MLT writer, which renders
    every output frame from the plan itself."""
    unknown = set(out) - set(FORMATS)
    if unknown:
        raise ValueError(f"unknown timeline formats {sorted(unknown)}; known: {list(FORMATS)}")
    out = {k: p for k, p in out.items() if k not in TIMECODE_FORMATS or smpte_rate(plan.fps)}
    for key, path in out.items():
        if key == "otio":
            with atomic_path(path, suffix=".otio") as tmp:
                otio.adapters.write_to_file(timeline, tmp, adapter_name="otio_json")
        elif key == "fcpxml":
            _write_text(path, fcpxml_string(timeline))
        elif key == "xml":
            _write_text(path, fcp7_xml_string(timeline))
        elif key == "edl":
            _write_text(path, edl_string(timeline))
        elif key == "mlt":
            _write_text(path, mlt_string(plan, clips=clips, soundtrack=soundtrack, luts=luts, media_url=media_url,
                                         title=timeline.name, soundtrack_gain_db=soundtrack_gain_db))
    return dict(out)


def write_soundtrack_wav(path: str, audio: np.ndarray, *, sample_rate: int = SOUND_RATE) -> str:
    """Write float audio (n, channels) in −1..1 as a 24-bit PCM WAV (in chunks, atomically)."""
    a = np.asarray(audio, np.float32)
    if a.ndim == 1:
        a = a[:, None]
    if a.ndim != 2 or a.shape[1] < 1:
        raise ValueError(f"audio must have shape (n, channels), got {a.shape}")
    with atomic_path(path, suffix=".wav") as tmp:
        with wave.open(tmp, "wb") as w:
            w.setnchannels(a.shape[1])
            w.setsampwidth(3)
            w.setframerate(sample_rate)
            step = 1 << 16
            for i in range(0, a.shape[0], step):
                q = np.round(np.clip(a[i: i + step], -1.0, 1.0) * 8388607.0).astype("<i4")
                b = q.reshape(-1).view(np.uint8).reshape(-1, 4)[:, :3]
                w.writeframes(np.ascontiguousarray(b).tobytes())
    return path


def _safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "grade"


def _safe_member(name: str) -> str:
    n = name.replace("\\", "/")
    parts = n.split("/")
    if not n or n.startswith("/") or any(p in ("", ".", "..") for p in parts) or ":" in parts[0]:
        raise ValueError(f"bundle member must be a relative path inside the bundle, got {name!r}")
    return n


def write_project_bundle(zip_path: str, *, timelines: Mapping[str, str], clips: Sequence[TimelineMedia],
                         soundtrack_wav: str | None, cubes: Mapping[str, str], readme: str) -> str:
    """Zip a project: ``timelines`` (format key or file name → path: stored at the top as
    :data:`FORMATS`' names, or their own base name for unknown keys), the clips under
    ``media/<name>``, ``soundtrack_wav`` as :data:`SOUNDTRACK_PATH`, ``cubes`` (bundle-relative
    path such as ``grade/clip.cube`` → path on disk) and ``readme`` as ``README.txt``.

    Media and audio are stored (not deflated) and copied in chunks, so memory does not grow
    with the footage; the zip is written to a temporary file and renamed into place."""
    members: list[tuple[str, str, int]] = []
    for key, path in timelines.items():
        members.append((FORMATS.get(key, os.path.basename(path)), path, zipfile.ZIP_DEFLATED))
    for c in clips:
        members.append((f"{MEDIA_DIR}/{c.name}", c.path, zipfile.ZIP_STORED))
    if soundtrack_wav:
        members.append((SOUNDTRACK_PATH, soundtrack_wav, zipfile.ZIP_STORED))
    for name, path in cubes.items():
        members.append((name, path, zipfile.ZIP_DEFLATED))
    seen: set[str] = set()
    for name, _, _ in members:
        _safe_member(name)
        if name in seen:
            raise ValueError(f"two bundle members named {name!r}")
        seen.add(name)
    with atomic_path(zip_path, suffix=".zip") as tmp:
        with zipfile.ZipFile(tmp, "w", allowZip64=True) as z:
            readme_info = zipfile.ZipInfo("README.txt", date_time=(2020, 1, 1, 0, 0, 0))
            readme_info.external_attr = 0o644 << 16
            z.writestr(readme_info, readme, compress_type=zipfile.ZIP_DEFLATED)
            for name, path, method in members:
                info = zipfile.ZipInfo.from_file(path, arcname=name)
                info.compress_type = method
                info.external_attr = 0o644 << 16  # readable when unpacked (our files are written 0600)
                with open(path, "rb") as src, z.open(info, "w", force_zip64=True) as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
    return zip_path


def export(plan: EditPlan, *, clips: Sequence[TimelineMedia], paths: Mapping[str, str],
           soundtrack_wav: str | None = None, cubes: Mapping[str, str | None] | None = None,
           title: str = "clipzy edit", zip_path: str | None = None, relative_to: str | None = None,
           soundtrack_gain_db: float = 0.0) -> dict[str, str]:
    """Everything for one job: the timelines of ``paths`` (format key of :data:`FORMATS` →
    file) and, with ``zip_path``, the project bundle holding them. ``cubes``: LUT name →
    ``.cube`` path on disk (None: an identity grade, left out).

    References inside the files: the bundle's relative paths (``media/<name>``,
    ``grade/<file>``, :data:`SOUNDTRACK_PATH`) by default — a timeline downloaded alone finds
    its clips in ``media/`` beside it, as in the bundle; with ``relative_to`` (a folder: the
    CLI's output folder), the real files' paths relative to it. Returns format key → path
    (and ``project`` → ``zip_path``)."""
    if zip_path and relative_to:
        raise ValueError("a project bundle holds bundle references: relative_to cannot be given with zip_path")
    real = {name: path for name, path in (cubes or {}).items() if path}
    bases = [os.path.basename(p) for p in real.values()]
    unique = len(set(bases)) == len(bases)
    if relative_to is None:
        luts_ref = {name: f"{GRADE_DIR}/{os.path.basename(path) if unique else _safe_name(name) + '.cube'}"
                    for name, path in real.items()}
        sound_ref = SOUNDTRACK_PATH if soundtrack_wav else None
        media_url: Callable[[str], str] = _default_media_url
    else:
        def rel(path: str) -> str:
            return os.path.relpath(os.path.abspath(path), os.path.abspath(relative_to)).replace(os.sep, "/")

        luts_ref = {name: rel(path) for name, path in real.items()}
        sound_ref = rel(soundtrack_wav) if soundtrack_wav else None
        by_name = {c.name: c.path for c in clips}
        media_url = lambda name: rel(by_name[name])  # noqa: E731
    tl = build_timeline(plan, clips=clips, soundtrack=sound_ref, luts=luts_ref, media_url=media_url, title=title,
                        soundtrack_gain_db=soundtrack_gain_db)
    paths = write_timelines(tl, plan, clips=clips, out=paths, soundtrack=sound_ref, luts=luts_ref,
                            media_url=media_url, soundtrack_gain_db=soundtrack_gain_db)
    result = dict(paths)
    if zip_path:
        bundle_cubes = {luts_ref[n]: p for n, p in real.items()}
        write_project_bundle(zip_path, timelines=paths, clips=[c for i, c in enumerate(clips)
                                                               if any(s.clip == i for s in plan.segments)],
                             soundtrack_wav=soundtrack_wav, cubes=bundle_cubes, readme=bundle_readme(title))
        result["project"] = zip_path
    return result


def media_names(names: Sequence[str]) -> list[str]:
    """Unique plain file names for clips called ``names`` (their upload or file names):
    unsafe characters replaced, a path's folders dropped, repeats numbered (``a.mp4``,
    ``a_2.mp4``), never empty."""
    out: list[str] = []
    taken: set[str] = set()
    for i, raw in enumerate(names):
        base = _safe_name(os.path.basename(raw.replace("\\", "/"))) or f"clip{i + 1}.mp4"
        stem, ext = os.path.splitext(base)
        name, k = base, 2
        while name.lower() in taken:
            name, k = f"{stem}_{k}{ext}", k + 1
        taken.add(name.lower())
        out.append(name)
    return out
