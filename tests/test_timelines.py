"""Editor timelines (API.md "Editor timelines"): every format read back and compared with the
edit plan, the MLT file rendered by melt and compared with the service's MP4, the bundle.

Three edits with known truth (tests/synth/timelines.py):

* ``vertical``: the pipeline's plan for 25 fps 16:9 footage in a 30 fps 9:16 edit (a crop that
  pans), with a dissolve, a dip to black and a wipe, a real grade, beats and downbeats;
* ``ntsc``: the pipeline's plan for 29.97 fps footage in a 25 fps 16:9 edit;
* ``handmade``: a plan written by hand: two clips (25 and 29.97 fps) in a 29.97 fps
  (30000/1001) 9:16 edit, eased transitions, held last frames, one LUT per clip.
"""
from __future__ import annotations

import json
import math
import os
import re
import shutil
import wave
import xml.etree.ElementTree as ET
import zipfile
from fractions import Fraction
from pathlib import Path

import numpy as np
import opentimelineio as otio
import pytest

from conftest import need
from clipzy.engine import media
from clipzy.engine.analysis.loudness import integrated_lufs
from clipzy.engine.editing import timelines as T
from clipzy.engine.media import rational
from tests.synth import timelines as st

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module", params=["vertical", "ntsc", "handmade"])
def scn(request, tmp_path_factory, shared_media):
    work = tmp_path_factory.mktemp(request.param)
    if request.param == "vertical":
        return st.pipeline_scenario(work, str(shared_media), name="vertical", footage_fps=25, output_fps=30.0,
                                    aspect="9:16")
    if request.param == "ntsc":
        return st.pipeline_scenario(work, str(shared_media), name="ntsc", footage_fps=st.NTSC, output_fps=25.0,
                                    aspect="16:9", moving_roi=False)
    return st.handmade_scenario(work, str(shared_media))


def fps_of(s) -> Fraction:
    return rational(s.plan.fps)


def ffps_of(s, seg) -> Fraction:
    return rational(s.clips[seg.clip].info.frame_rate)


def expected_in(s, seg) -> int:
    """The first footage frame the renderer shows for ``seg`` (its own frame count)."""
    return T.source_in_frame(seg.footage_in_s, ffps_of(s, seg))


def beat_frames(s) -> dict[int, str]:
    fps = fps_of(s)
    downs = [round(d, 3) for d in s.plan.soundtrack_downbeats_s]
    out = {}
    for b in sorted(set(s.plan.soundtrack_beats_s) | set(s.plan.soundtrack_downbeats_s)):
        f = math.ceil(b * float(fps) - 1e-6)
        if 0 <= f < s.plan.output.frame_count:
            out[f] = "downbeat" if round(b, 3) in downs or out.get(f) == "downbeat" else "beat"
    return out


def transitions(s) -> list[tuple[int, str, int]]:
    """(segment, type, frames) of every transition the renderer plays."""
    return [(i, seg.transition_in.type, T.transition_frames(s.plan, i)) for i, seg in enumerate(s.plan.segments)
            if T.transition_frames(s.plan, i)]


@pytest.mark.slow
def test_scenarios_cover_the_cases(scn):
    """Each edit has what the checks below are about."""
    types = {t for _, t, _ in transitions(scn)}
    assert types == {"dissolve", "fade", "wipe"}, types
    assert beat_frames(scn)
    if scn.name != "ntsc":
        assert "downbeat" in beat_frames(scn).values()
        assert (scn.plan.output.width, scn.plan.output.height) == (180, 320)  # 9:16 from 16:9 footage
        assert any(len({k.x for k in seg.crop}) > 1 for seg in scn.plan.segments)  # the crop pans
    rates = {ffps_of(scn, seg) for seg in scn.plan.segments}
    assert rates != {fps_of(scn)}  # footage at another rate than the edit
    assert any(p for p in scn.cubes.values())  # a real grade


# -- OpenTimelineIO ---------------------------------------------------------------------------


def video_clips(tl):
    track = next(t for t in tl.tracks if t.kind == otio.schema.TrackKind.Video)
    out = []
    for i, c in enumerate(track):
        if isinstance(c, otio.schema.Clip):
            out.append((c, track.range_of_child_at_index(i)))
    return track, out


@pytest.mark.slow
def test_otio_reads_back_as_the_plan(scn):
    tl = otio.adapters.read_from_file(str(scn.folder / "timeline.otio"))
    fps = fps_of(scn)
    meta = tl.metadata["clipzy"]
    assert Fraction(meta["output"]["frame_rate"]) == fps
    assert tl.global_start_time.rate == float(fps)  # the rational rate, not a rounded one
    track, clips = video_clips(tl)
    segs = scn.plan.segments
    assert len(clips) == len(segs)
    pos = 0
    for (c, rec), seg in zip(clips, segs):
        media_clip = scn.clips[seg.clip]
        assert c.name == media_clip.name == os.path.basename(c.media_reference.target_url)
        assert (scn.folder / c.media_reference.target_url).is_file()
        ffps = ffps_of(scn, seg)
        assert c.source_range.start_time.rate == float(ffps)  # the clip's own time base
        assert c.source_range.start_time.value == expected_in(scn, seg)
        # record range: contiguous, the segment's output frames exactly
        r_in = rec.start_time.rescaled_to(float(fps)).value
        r_dur = rec.duration.rescaled_to(float(fps)).value
        assert round(r_in, 6) == pos == seg.output_in_frame and round(r_dur, 6) == seg.frames
        pos += seg.frames
        md = c.metadata["clipzy"]
        assert [dict(k) for k in md["crop"]["keys"]] == [
            {"t_s": k.t_s, "x": k.x, "y": k.y, "width": k.width, "height": k.height} for k in seg.crop]
        assert md["source_in_frame"] == expected_in(scn, seg)
        grade = md["grade"]
        if scn.cubes.get(seg.lut):
            assert (scn.folder / grade["file"]).is_file() and grade["name"] == seg.lut
        else:
            assert grade is None
    assert pos == scn.plan.output.frame_count
    got = [(c.metadata["clipzy"]["type"], c.metadata["clipzy"]["frames"], c.in_offset.value, c.out_offset.value,
            c.transition_type) for c in track if isinstance(c, otio.schema.Transition)]
    kinds = {"dissolve": "SMPTE_Dissolve", "fade": "SMPTE_Dissolve", "wipe": "SMPTE_Wipe"}
    assert got == [(t, d, 0, d, kinds[t]) for _, t, d in transitions(scn)]
    marks = {int(m.marked_range.start_time.value): m.name for m in tl.tracks.markers}
    assert marks == beat_frames(scn)
    colours = {m.name: m.color for m in tl.tracks.markers}
    assert colours.get("downbeat", "RED") == "RED" and colours["beat"] == "YELLOW"
    audio = [t for t in tl.tracks if t.kind == otio.schema.TrackKind.Audio]
    assert len(audio) == 1 and len(audio[0]) == 1
    snd = audio[0][0]
    assert snd.media_reference.target_url == T.SOUNDTRACK_PATH and (scn.folder / T.SOUNDTRACK_PATH).is_file()
    assert snd.source_range.duration.rescaled_to(float(fps)).value == scn.plan.output.frame_count


# -- Final Cut Pro 7 XML ----------------------------------------------------------------------


@pytest.mark.slow
def test_fcp7_xml_is_well_formed_and_reads_back(scn):
    path = scn.folder / "timeline.xml"
    root = ET.parse(path).getroot()
    assert root.tag == "xmeml"
    seq = root.find("./project/children/sequence")
    fps = fps_of(scn)
    assert seq.findtext("rate/timebase") == str(math.ceil(float(fps) - 1e-9))
    assert seq.findtext("rate/ntsc") == ("TRUE" if fps.denominator == 1001 else "FALSE")
    sc = seq.find("media/video/format/samplecharacteristics")
    assert (sc.findtext("width"), sc.findtext("height")) == (str(scn.plan.output.width), str(scn.plan.output.height))
    effects = [e.findtext("effect/effectid") for e in seq.iter("transitionitem")]
    ids = {"dissolve": "Cross Dissolve", "fade": "Dip to Color Dissolve", "wipe": "Edge Wipe"}
    assert effects == [ids[t] for _, t, _ in transitions(scn)]
    assert all(e.findtext("alignment") == "start" for e in seq.iter("transitionitem"))
    dip = [e for e in seq.iter("transitionitem") if e.findtext("effect/effectid") == "Dip to Color Dissolve"][0]
    assert [dip.findtext(f"effect/parameter/value/{c}") for c in ("red", "green", "blue")] == ["0", "0", "0"]
    for url in {e.text for e in root.iter("pathurl")}:
        assert not url.startswith("file:") and (scn.folder / url).is_file(), url

    tl = otio.adapters.read_from_file(str(path), adapter_name="fcp_xml")
    track, clips = video_clips(tl)
    segs = scn.plan.segments
    assert len(clips) == len(segs)
    for (c, rec), seg in zip(clips, segs):
        assert c.name == scn.clips[seg.clip].name
        assert round(c.source_range.start_time.value, 6) == expected_in(scn, seg)
        assert c.source_range.start_time.rate == pytest.approx(float(ffps_of(scn, seg)), abs=1e-6)
        assert round(rec.start_time.rescaled_to(float(fps)).value, 6) == seg.output_in_frame
        assert round(rec.duration.rescaled_to(float(fps)).value, 6) == seg.frames
        motion = [e for e in c.effects if e.name == "Basic Motion"]
        assert len(motion) == 1
    got = [(t.in_offset.value, t.out_offset.value) for t in track if isinstance(t, otio.schema.Transition)]
    assert got == [(0, d) for _, _, d in transitions(scn)]
    marks = {int(round(m.marked_range.start_time.rescaled_to(float(fps)).value)): m.name for m in tl.tracks.markers}
    assert marks == beat_frames(scn)
    # the reframing: scale in percent of the media's pixels, centre offset, keyframed when the crop pans
    for el, seg in zip(seq.find("media/video/track").iter("clipitem"), segs):
        scale = el.find("filter/effect/parameter[parameterid='scale']")
        k0 = seg.crop[0]
        assert float(scale.findtext("value")) == pytest.approx(
            50.0 * (scn.plan.output.width / k0.width + scn.plan.output.height / k0.height), abs=1e-3)
        moves = len({(k.x, k.y, k.width, k.height) for k in seg.crop}) > 1
        centre = el.find("filter/effect/parameter[parameterid='center']")
        assert (len(scale.findall("keyframe")) == len(seg.crop)) == moves == (len(centre.findall("keyframe")) > 1)
        x0 = (k0.x + k0.width / 2 - st.footage_size(scn, seg)[0] / 2) * scn.plan.output.width / k0.width
        assert float(centre.findtext("value/horiz")) == pytest.approx(-x0 / scn.plan.output.width, abs=1e-5)
    level = seq.find("media/audio/track/clipitem/filter/effect[effectid='audiolevels']")
    assert level is not None


# -- FCPXML -----------------------------------------------------------------------------------


def rt(x: str) -> Fraction:
    assert x.endswith("s")
    return Fraction(x[:-1])


@pytest.mark.slow
def test_fcpxml_is_well_formed_frame_exact_and_reads_back(scn):
    path = scn.folder / "timeline.fcpxml"
    text = path.read_text()
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE fcpxml>')
    root = ET.fromstring(text.encode())
    assert root.tag == "fcpxml" and tuple(int(x) for x in root.get("version").split(".")) >= (1, 8)
    res = root.find("resources")
    seq = root.find("library/event/project/sequence")
    fmt = res.find(f"format[@id='{seq.get('format')}']")
    fps = fps_of(scn)
    assert rt(fmt.get("frameDuration")) == 1 / fps
    if fps == st.NTSC:
        assert fmt.get("frameDuration") == "1001/30000s"
    assert (int(fmt.get("width")), int(fmt.get("height"))) == (scn.plan.output.width, scn.plan.output.height)
    assert rt(seq.get("duration")) == Fraction(scn.plan.output.frame_count) / fps
    spine = seq.find("spine")
    clips = spine.findall("asset-clip")
    segs = scn.plan.segments
    assert len(clips) == len(segs)
    for el, seg in zip(clips, segs):
        ffps = ffps_of(scn, seg)
        asset = res.find(f"asset[@id='{el.get('ref')}']")
        assert asset.get("name") == el.get("name") == scn.clips[seg.clip].name
        assert (scn.folder / asset.get("src")).is_file()
        assert rt(res.find(f"format[@id='{asset.get('format')}']").get("frameDuration")) == 1 / ffps
        assert rt(el.get("offset")) == Fraction(seg.output_in_frame) / fps  # exact rational record times
        assert rt(el.get("duration")) == Fraction(seg.frames) / fps
        assert rt(el.get("start")) == Fraction(expected_in(scn, seg)) / ffps  # on a footage frame
        at = el.find("adjust-transform")
        assert at is not None and el.find("adjust-conform").get("type") == "fit"
        assert (at.find("param[@name='position']") is not None) == (len({k.x for k in seg.crop}) > 1)
        for kf in at.iter("keyframe"):
            assert rt(el.get("start")) <= rt(kf.get("time"))
        if scn.cubes.get(seg.lut):
            assert el.find("metadata/md[@key='com.clipzy.grade']").get("value") == f"grade/{os.path.basename(scn.cubes[seg.lut])}"
    names = {"dissolve": "Cross Dissolve", "fade": "Dip to Color", "wipe": "Cross Dissolve"}
    trs = spine.findall("transition")
    assert [(t.get("name"), rt(t.get("offset")), rt(t.get("duration"))) for t in trs] == [
        (names[typ], Fraction(segs[i].output_in_frame) / fps, Fraction(d) / fps) for i, typ, d in transitions(scn)]
    for t in trs:
        eff = res.find(f"effect[@id='{t.find('filter-video').get('ref')}']")
        assert eff.get("uid") in (T.FCPX_CROSS_DISSOLVE, T.FCPX_FADE_TO_COLOR)
    marks = {}
    for el, seg in zip(clips, segs):
        for m in el.findall("marker"):
            f = seg.output_in_frame + (rt(m.get("start")) - rt(el.get("start"))) * fps
            assert f.denominator == 1
            marks[int(f)] = m.get("value")
    assert marks == beat_frames(scn)
    snd = clips[0].find("asset-clip[@lane='-1']")
    assert snd is not None and rt(snd.get("duration")) == Fraction(scn.plan.output.frame_count) / fps
    assert (scn.folder / res.find(f"asset[@id='{snd.get('ref')}']").get("src")).is_file()
    # OTIO's fcpx_xml reader (it counts frames at integer rates, so only the structure is compared)
    col = otio.adapters.read_from_file(str(path), adapter_name="fcpx_xml")
    tl = col[0] if isinstance(col, otio.schema.SerializableCollection) else col
    read = [c for t in tl.tracks for c in t if isinstance(c, otio.schema.Clip) and c.name]
    assert sorted(c.name for c in read) == sorted([scn.clips[seg.clip].name for seg in segs]
                                                  + [os.path.basename(T.SOUNDTRACK_PATH)])
    assert sum(len(c.markers) for c in read) == len(beat_frames(scn))
    for c in read:
        assert (scn.folder / c.media_reference.target_url).is_file()


# -- CMX 3600 EDL -----------------------------------------------------------------------------


@pytest.mark.slow
def test_edl_reads_back_at_the_output_rate(scn):
    path = scn.folder / "timeline.edl"
    text = path.read_text()
    assert "FCM: NON-DROP FRAME" in text.splitlines()[:3]
    fps = fps_of(scn)
    nominal = math.ceil(float(fps) - 1e-9)
    tl = otio.adapters.read_from_file(str(path), adapter_name="cmx_3600", rate=nominal)
    track = tl.tracks[0]
    items = list(track)
    clips = [c for c in items if isinstance(c, otio.schema.Clip)]
    picture = [c for c in clips if c.name != "BL"]
    segs = scn.plan.segments
    assert len(picture) == len(segs)
    def dip(i: int) -> int:  # frames of a fade before black gives way to the incoming clip (0: no dip)
        seg = segs[i]
        d = T.transition_frames(scn.plan, i)
        m = T.fade_switch(d, seg.transition_in.easing) if seg.transition_in.type == "fade" and d else 0
        return m if 0 < m < min(d, seg.frames) else 0

    fades = {i: dip(i) for i, typ, _ in transitions(scn) if typ == "fade" and dip(i)}
    assert fades
    pos = 0
    for i, c in enumerate(clips):
        rng = track.range_of_child(c)
        assert rng.start_time.value == pos  # contiguous record timecodes
        pos += rng.duration.value
    assert pos == scn.plan.output.frame_count
    for c, (i, seg) in zip(picture, enumerate(segs)):
        m = fades.get(i, 0)  # a dip through black: the picture starts when the incoming half does
        rng = track.range_of_child(c)
        assert (rng.start_time.value, rng.duration.value) == (seg.output_in_frame + m, seg.frames - m)
        src = Fraction(expected_in(scn, seg)) / ffps_of(scn, seg)
        want = int(round(src * fps)) + m  # source timecode counted at the output rate
        assert c.source_range.start_time.value == want
        if ffps_of(scn, seg) == fps:
            assert want - m == expected_in(scn, seg)  # exact where the rates agree
    got = [(t.transition_type, t.out_offset.value) for t in items if isinstance(t, otio.schema.Transition)]
    want_tr = []
    for i, typ, d in transitions(scn):
        if i in fades:
            want_tr += [("SMPTE_Dissolve", fades[i]), ("SMPTE_Dissolve", d - fades[i])]
        else:
            want_tr.append(("SMPTE_Wipe" if typ == "wipe" else "SMPTE_Dissolve", d))
    assert got == want_tr
    assert len([ln for ln in text.splitlines() if " BL " in ln]) == 2 * len(fades)
    locs = {}
    for c in clips:
        for mk in c.markers:
            locs[int(mk.marked_range.start_time.value)] = mk.name.lower()
    assert locs == beat_frames(scn)
    grades = [ln for ln in text.splitlines() if ln.startswith("* CLIPZY GRADE:")]
    assert len(grades) == sum(1 for seg in segs if scn.cubes.get(seg.lut))


# -- MLT ----------------------------------------------------------------------------------------


@pytest.mark.slow
def test_mlt_renders_the_mp4s_cuts_and_framing(scn):
    need(shutil.which("melt") is not None, "melt (MLT) is not installed")
    filters = st.melt_filters()
    need(all(f in filters for f in ("avfilter.lut3d", "avfilter.colorchannelmixer", "affine", "freeze", "shape")),
         "melt lacks avfilter.lut3d, avfilter.colorchannelmixer, affine, freeze or shape")
    root = ET.parse(scn.folder / "timeline.mlt").getroot()
    prof = root.find("profile")
    fps = fps_of(scn)
    assert (int(prof.get("frame_rate_num")), int(prof.get("frame_rate_den"))) == (fps.numerator, fps.denominator)
    assert (int(prof.get("width")), int(prof.get("height"))) == (scn.plan.output.width, scn.plan.output.height)
    for p in root.iter("producer"):
        res = p.find("property[@name='resource']").text
        if p.find("property[@name='mlt_service']").text == "avformat":
            assert not os.path.isabs(res) and (scn.folder / res).is_file()
    for f in root.iter("filter"):
        if f.get("mlt_service") == "avfilter.lut3d":
            assert (scn.folder / f.find("property[@name='av.file']").text).is_file()
    guides = [g["pos"] for g in json.loads(
        root.find("playlist[@id='main_bin']/property[@name='kdenlive:docproperties.guides']").text)]
    assert sorted(guides) == sorted(beat_frames(scn))
    assert len(root.findall("tractor[@id='main']/properties[@name='shotcut:markers']/properties")) == len(guides)

    out = st.render_mlt(scn.folder)
    A, B = st.decode(scn.mp4), st.decode(out)
    n = scn.plan.output.frame_count
    assert len(A) == len(B) == n
    assert media.probe(out).frame_rate == pytest.approx(float(fps), abs=1e-3)
    # cut frames in the pixels: the same in both, and each one a planned cut
    cuts_a, cuts_b = st.hard_cuts(A), st.hard_cuts(B)
    planned = {seg.output_in_frame for i, seg in enumerate(scn.plan.segments) if i and not T.transition_frames(scn.plan, i)}
    print(scn.name, "cuts", cuts_a, cuts_b, "planned", sorted(planned))
    assert cuts_a == cuts_b
    assert set(cuts_b) <= planned and len(cuts_b) >= max(1, len(planned) - 1)
    # framing: the middle frame of every segment has the MP4's structure, and no other segment's
    mids = [(seg.output_in_frame + seg.output_out_frame) // 2 for seg in scn.plan.segments]
    for i, k in enumerate(mids):
        scores = [st.thumb_structure(B[k], A[j]) for j in mids]
        print(scn.name, "segment", i, "structure", [round(x, 3) for x in scores])
        assert scores[i] >= 0.9
        assert scores[i] == max(scores)
    # colours (the grade applied) within a few levels; where the footage runs at the edit's rate
    # (same frames) every frame — transitions, fades and held frames included — matches closely
    for i, seg in enumerate(scn.plan.segments):
        k = mids[i]
        assert np.abs(A[k].reshape(-1, 3).mean(0) - B[k].reshape(-1, 3).mean(0)).max() < 6.0
        prev_same = i == 0 or ffps_of(scn, scn.plan.segments[i - 1]) == fps
        if ffps_of(scn, seg) == fps and prev_same:
            for f in range(seg.output_in_frame, seg.output_out_frame):
                assert np.abs(st.grey(A[f]) - st.grey(B[f])).mean() < 9.0, (i, f)
    # the soundtrack: same level and envelope
    a = media.decode_audio(scn.mp4, sample_rate=48000, layout="stereo").samples
    b = media.decode_audio(str(out), sample_rate=48000, layout="stereo").samples
    m = min(len(a), len(b)) // 480 * 480
    env_a = np.sqrt((a[:m, 0].reshape(-1, 480) ** 2).mean(1))
    env_b = np.sqrt((b[:m, 0].reshape(-1, 480) ** 2).mean(1))
    assert np.corrcoef(env_a, env_b)[0, 1] > 0.95
    assert abs(integrated_lufs(a, sr=48000) - integrated_lufs(b, sr=48000)) < 0.5


# -- the bundle ---------------------------------------------------------------------------------


@pytest.mark.slow
def test_project_bundle_is_self_contained(scn):
    with zipfile.ZipFile(scn.files["project"]) as z:
        assert z.testzip() is None
        infos = {i.filename: i for i in z.infolist()}
    names = set(infos)
    assert set(T.FORMATS.values()) | {"README.txt", T.SOUNDTRACK_PATH} <= names
    used = {scn.clips[seg.clip].name for seg in scn.plan.segments}
    assert {n for n in names if n.startswith("media/")} == {f"media/{c}" for c in used}
    assert {n for n in names if n.startswith("grade/")} == {f"grade/{os.path.basename(p)}" for p in scn.cubes.values() if p}
    for n in names:
        if n.startswith("media/") or n.endswith(".wav"):
            assert infos[n].compress_type == zipfile.ZIP_STORED
        assert not n.startswith("/") and ".." not in n.split("/")
    readme = (scn.folder / "README.txt").read_text()
    for name in T.FORMATS.values():
        assert name in readme
    # byte-identical media; no absolute path or file:// URL in any timeline
    for c in scn.clips:
        if c.name in used:
            assert (scn.folder / "media" / c.name).read_bytes() == Path(c.path).read_bytes()
    for name in T.FORMATS.values():
        body = (scn.folder / name).read_text()
        assert "file:" not in body and str(scn.folder.parent) not in body and "/tmp/" not in body, name
    with wave.open(str(scn.folder / T.SOUNDTRACK_PATH)) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (2, 3, 48000)
        assert abs(w.getnframes() / 48000 - scn.plan.output.duration_s) < 0.05


# -- unit checks ----------------------------------------------------------------------------------


def test_soundtrack_wav_round_trips(tmp_path):
    x = (0.5 * np.sin(np.linspace(0, 200, 4800))).astype(np.float32)
    audio = np.stack([x, -x], axis=1)
    p = T.write_soundtrack_wav(str(tmp_path / "s.wav"), audio)
    with wave.open(p) as w:
        raw = np.frombuffer(w.readframes(w.getnframes()), np.uint8).reshape(-1, 3)
    v = (raw[:, 0].astype(np.int32) | raw[:, 1].astype(np.int32) << 8 | raw[:, 2].astype(np.int32) << 16)
    v = np.where(v >= 1 << 23, v - (1 << 24), v) / 8388607.0
    assert np.abs(v.reshape(-1, 2) - audio).max() < 1e-6


@pytest.mark.slow
def test_bad_inputs_are_refused(tmp_path, scn):
    plan = scn.plan
    with pytest.raises(ValueError, match="plain file name"):
        T.build_timeline(plan, clips=[T.TimelineMedia(c.path, "../" + c.name, c.info) for c in scn.clips])
    if len(scn.clips) > 1:
        with pytest.raises(ValueError, match="unique"):
            T.build_timeline(plan, clips=[T.TimelineMedia(c.path, "same.mp4", c.info) for c in scn.clips])
    with pytest.raises(ValueError, match="names clip"):
        T.build_timeline(plan, clips=scn.clips[:0])
    with pytest.raises(ValueError, match="unknown timeline formats"):
        T.write_timelines(T.build_timeline(plan, clips=scn.clips), plan, clips=scn.clips, out={"aaf": "x.aaf"})
    # a caller's own references (e.g. artifacts served beside their media)
    tl = T.build_timeline(plan, clips=scn.clips, media_url=lambda n: "clips/" + n)
    _, clips = video_clips(tl)
    assert {c.media_reference.target_url for c, _ in clips} == {"clips/" + scn.clips[s.clip].name for s in plan.segments}
    mlt = T.mlt_string(plan, clips=scn.clips, media_url=lambda n: "clips/" + n)
    assert {p.findtext("property[@name='resource']") for p in ET.fromstring(mlt).iter("producer")} == {
        "clips/" + scn.clips[s.clip].name for s in plan.segments}
    for bad in ("../x.cube", "/abs.cube", "grade/../../x"):
        with pytest.raises(ValueError, match="relative path"):
            T.write_project_bundle(str(tmp_path / "p.zip"), timelines={}, clips=[], soundtrack_wav=None,
                                   cubes={bad: scn.soundtrack_wav}, readme="x")
    assert not (tmp_path / "p.zip").exists()


def test_readme_table_lists_every_format():
    table = T.readme_table()
    assert table.count("\n") == len(T.FORMAT_NOTES) + 1
    for ext in (".otio", ".fcpxml", ".xml", ".edl", ".mlt"):
        assert f"`{ext}" in table
    assert re.search(r"\| carries \| loses \|", table)


@pytest.mark.slow
def test_cli_timelines_at_rates_smpte_timecode_cannot_count(tmp_path, shared_media, prepared_models):
    """``clipzy apply --timelines``: 20 fps footage in a 25 fps edit keeps its own rate (FCP 7
    clip rates, OTIO source ranges); a 20 fps edit gets every timeline but the two counted in
    SMPTE timecode (EDL, FCP 7 XML), and the job does not fail."""
    import subprocess
    import sys

    from synth.video import shared_media_frames, write_video

    frames = shared_media_frames(str(shared_media / "cockatoo.mp4"), count=60, size=(160, 90))
    cuts = shared_media_frames(str(shared_media / "bigbuckbunny.mp4"), count=40, size=(160, 90))
    write_video(tmp_path / "f20.mp4", frames, fps=20)
    write_video(tmp_path / "t25.mp4", frames[:40] + cuts[:35], fps=25)
    write_video(tmp_path / "t20.mp4", frames[:30] + cuts[:30], fps=20)
    env = {**os.environ, "CLIPZY_INSTANCE_PATH": str(tmp_path / "instance"), "CLIPZY_MODELS_PATH": str(prepared_models)}
    for tmpl, stem, written in (("t25.mp4", "a", set(T.FORMATS)), ("t20.mp4", "b", set(T.FORMATS) - T.TIMECODE_FORMATS)):
        r = subprocess.run([sys.executable, "-m", "clipzy.cli", "apply", "--template", str(tmp_path / tmpl),
                            "--footage", str(tmp_path / "f20.mp4"), "-o", str(tmp_path / f"{stem}.mp4"), "--timelines",
                            "--config", json.dumps({"quality": "low"})],
                           cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
        assert r.returncode == 0, r.stderr[-2000:]
        assert {k for k in T.FORMATS if (tmp_path / f"{stem}.{k}").is_file()} == written, stem
        tl = otio.adapters.read_from_file(str(tmp_path / f"{stem}.otio"))
        clips = list(tl.video_tracks()[0].find_clips())
        assert clips and all(c.source_range.start_time.rate == 20 for c in clips)
        assert all(c.media_reference.target_url == "f20.mp4" for c in clips)  # relative to the output folder
        assert (tmp_path / f"{stem}.soundtrack.wav").is_file()
    items = ET.parse(tmp_path / "a.xml").getroot().findall(".//media/video/track/clipitem")
    assert items and all(it.findtext("rate/timebase") == "20" for it in items)
    assert items[0].findtext("file/rate/timebase") == "20" and items[0].findtext("file/duration") == "60"
