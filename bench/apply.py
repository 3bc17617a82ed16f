"""Benchmark: a full apply (plan + LUT + mix + render) of one minute of 1080p footage vs the floor.

    .venv/bin/python bench/apply.py [--seconds 60] [--quality medium] [--workdir DIR] [--several]

``--several``: ``clipzy apply --template template_<seconds>.mp4 --footage clip1.mp4 … clip5.mp4
--music song.wav`` (bench/footage.py's real footage, 1080p30) as a user runs it, measured with
bench/measure.py (wall, CPU, peak MiB of the process tree) beside its floor in the same run
(decode of the template, the song and every clip, and an x264 encode of ``--seconds`` of 1080p
with the engine's settings: :func:`floor_pass`, shared with the single-footage floor); prints
one markdown row: work | measured | floor | ratio | peak MiB | load average.

Without it:

1. Makes the inputs in code (streamed, never a whole video in memory): footage = the real
   shared clips (REAL_SHOTS of tests/synth/apply.py) cut into 2 s shots, scaled to 1920×1080
   at 30 fps, looped to ``--seconds``, with a quiet noise bed; template = a small 16:9 clip
   with 120 bpm click music (its picture is not used by apply). The Style DNA of both is
   written by hand (known shots and beats) except the footage's colour profile and ROI
   track, which are measured with ColorAnalyzer and RoiTracker in one FramePump pass
   (reported separately: it belongs to the analysis stages, not to apply).
2. Floor (child process, run before and after the apply; the mean is used): decode the footage and the template once, and encode the
   footage's frames to H.264 with the same x264 settings (CRF/preset of ``--quality``,
   High profile, yuv420p) — the least any apply of this footage must do.
3. Apply (child process): the pipeline's ``style_application`` then ``rendering`` stages (1080p 16:9 output,
   the template's 30 fps, LUT, transitions, beat sync, template music).

Prints a table: seconds per stage, ratio to the floor, peak RSS of each child (os.wait4),
and the children's CPU time (user + system), which other load on a shared machine disturbs
far less than wall time.
Targets: apply ≤ 2 × floor, peak RSS < 1.5 GB.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from fractions import Fraction

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, ROOT)

import av  # noqa: E402
import numpy as np  # noqa: E402

MEDIA = os.environ.get("CLIPZY_SHARED_MEDIA", os.path.join(os.path.dirname(ROOT), "shared", "media"))
SIZE = (1920, 1080)
FPS = 30
SHOT_S = 2.0


def make_footage(path: str, seconds: float) -> list[int]:
    """Stream real clips, scaled to 1080p, into ``path``; returns shot boundaries in ms."""
    from tests.synth.apply import REAL_SHOTS

    n_total = int(round(seconds * FPS))
    per = int(round(SHOT_S * FPS))
    bounds = [0]
    with av.open(path, "w", format="mp4") as out:
        vs = out.add_stream("libx264", rate=FPS)
        vs.width, vs.height, vs.pix_fmt = SIZE[0], SIZE[1], "yuv420p"
        vs.options = {"crf": "20", "preset": "ultrafast"}
        ast = out.add_stream("aac", rate=48000, layout="stereo")
        i = 0
        k = 0
        while i < n_total:
            name, start = REAL_SHOTS[k % len(REAL_SHOTS)]
            got = 0
            last = None
            with av.open(os.path.join(MEDIA, name)) as src:
                for f in src.decode(video=0):
                    if f.time is not None and f.time + 1e-6 < start:
                        continue
                    last = f.reformat(width=SIZE[0], height=SIZE[1], format="yuv420p")
                    last.pts = i
                    last.time_base = Fraction(1, FPS)
                    for p in vs.encode(last):
                        out.mux(p)
                    i += 1
                    got += 1
                    if got >= per or i >= n_total:
                        break
            while got < per and i < n_total and last is not None:  # short clips: hold the last frame
                last.pts = i
                for p in vs.encode(last):
                    out.mux(p)
                i += 1
                got += 1
            bounds.append(int(round(i * 1000 / FPS)))
            k += 1
        for p in vs.encode():
            out.mux(p)
        rng = np.random.default_rng(0)
        n_a = int(n_total / FPS * 48000)
        for a in range(0, n_a, 1024):
            chunk = (0.03 * rng.standard_normal((2, min(1024, n_a - a)))).astype(np.float32)
            af = av.AudioFrame.from_ndarray(chunk, format="fltp", layout="stereo")
            af.sample_rate = 48000
            af.pts = a
            for p in ast.encode(af):
                out.mux(p)
        for p in ast.encode():
            out.mux(p)
    return bounds


def prepare(work: str, seconds: float) -> dict:
    from clipzy.engine.analysis import color, framing
    from clipzy.engine import media
    from tests.synth import apply as sa

    t = time.perf_counter()
    footage = os.path.join(work, "footage.mp4")
    fshots = make_footage(footage, seconds)
    template, beats = sa.make_template(os.path.join(work, "template.mp4"), seconds=seconds, fps=FPS, size=(320, 180), bpm=120, offset_s=0.25)
    made = time.perf_counter() - t
    info = media.probe(footage)
    t = time.perf_counter()
    ca = color.ColorAnalyzer(info)
    rt = framing.RoiTracker(info)
    media.FramePump(footage, [ca, rt], info=info).run()
    spans = [(a / 1000, b / 1000) for a, b in zip(fshots[:-1], fshots[1:])]
    fprof = ca.finish(spans)["color_profile"]
    roi = rt.finish()
    analysis = time.perf_counter() - t
    # template: shots of 1.3–3.1 s, every third boundary a 0.5 s dissolve, a warm teal-orange grade
    rng = np.random.default_rng(1)
    b = [0]
    while b[-1] < seconds * 1000:
        b.append(b[-1] + int(rng.uniform(1300, 3100)))
    b[-1] = int(seconds * 1000)
    if b[-1] - b[-2] < 500:
        b.pop(-2)
    trs = [("dissolve", 500) if i % 3 == 2 else ("cut", 0) for i in range(len(b) - 2)]
    tprof = dict(fprof)
    tprof["lab_mean"] = [fprof["lab_mean"][0] - 4, fprof["lab_mean"][1] + 6, fprof["lab_mean"][2] + 14]
    tdna = sa.dna(shots_ms=b, fps=FPS, aspect_ratio="16:9", resolution=(1920, 1080), transitions=trs,
                  beats_ms=[int(x * 1000) for x in beats], integrated_lufs=-14.0, true_peak_dbtp=-1.0, color_profile=tprof)
    fdna = sa.dna(shots_ms=fshots, fps=FPS, color_profile=fprof)
    job = {"footage": footage, "template": template, "tdna": tdna, "fdna": fdna, "roi": roi.to_dict(), "made_s": made, "analysis_s": analysis}
    with open(os.path.join(work, "job.json"), "w") as fh:
        json.dump(job, fh)
    return job


def floor_pass(decode: list[tuple[str, str]], encode_from: list[str], out_path: str, quality: str,
               max_frames: int | None = None) -> dict:
    """The least any apply must do: decode each ``(path, "video" | "audio")`` of ``decode``, then
    decode the video of ``encode_from`` in order and encode its frames (up to ``max_frames``; the
    rest only decoded) to 1080p H.264 with the engine's x264 settings for ``quality``."""
    from clipzy.engine.editing.settings import QUALITY

    q = QUALITY[quality]
    t = time.perf_counter()
    for path, kind in decode:
        with av.open(path) as c:
            s = c.streams.video[0] if kind == "video" else c.streams.audio[0]
            s.thread_type = "AUTO"
            for _ in c.decode(s):
                pass
    n = 0
    with av.open(out_path, "w", format="mp4", options={"movflags": "+faststart"}) as out:
        vs = out.add_stream("libx264", rate=FPS)
        vs.width, vs.height, vs.pix_fmt = SIZE[0], SIZE[1], "yuv420p"
        vs.options = {"crf": str(q["crf"]), "preset": q["preset"], "profile": "high"}
        for path in encode_from:
            with av.open(path) as src:
                vin = src.streams.video[0]
                vin.thread_type = "AUTO"
                for f in src.decode(vin):
                    if max_frames is not None and n >= max_frames:
                        continue
                    f2 = av.VideoFrame.from_ndarray(f.to_ndarray(format="yuv420p"), format="yuv420p")
                    f2.pts = n
                    f2.time_base = Fraction(1, FPS)
                    for p in vs.encode(f2):
                        out.mux(p)
                    n += 1
        for p in vs.encode():
            out.mux(p)
    return {"floor_s": time.perf_counter() - t, "frames": n}


def child_floor(work: str, quality: str) -> dict:
    job = json.load(open(os.path.join(work, "job.json")))
    return floor_pass([(job["template"], "video"), (job["template"], "audio")], [job["footage"]],
                      os.path.join(work, "floor.mp4"), quality)


def child_floor_several(work: str, quality: str) -> dict:
    """The several-clip floor: decode the template (picture and sound), the song and every clip;
    encode ``seconds`` of 1080p from the clips' frames."""
    job = json.load(open(os.path.join(work, "several.json")))
    return floor_pass([(job["template"], "video"), (job["template"], "audio"), (job["song"], "audio")],
                      job["clips"], os.path.join(work, "floor_several.mp4"), quality,
                      max_frames=int(round(job["seconds"] * FPS)))


def several(work: str, seconds: float, quality: str) -> None:
    """``clipzy apply`` of template_<seconds> with clip1..clip5 and the song, as a user runs it,
    beside the floor (:func:`child_floor_several`), each a child process measured by bench/measure.py."""
    sys.path.insert(0, os.path.join(ROOT, "bench"))
    import footage
    from measure import load_average, run_measured

    secs = int(seconds)
    job = {"template": str(footage.build(f"template_{secs}", footage.WORK)),
           "clips": [str(footage.build(f"clip{i}", footage.WORK)) for i in range(1, 6)],
           "song": str(footage.build("song", footage.WORK)), "seconds": seconds}
    with open(os.path.join(work, "several.json"), "w") as fh:
        json.dump(job, fh)
    out = os.path.join(work, "several.mp4")
    config = json.dumps({"quality": quality})
    cmd = [str(os.path.join(os.path.dirname(sys.executable), "clipzy")), "apply", "--template", job["template"],
           "--footage", *job["clips"], "--music", job["song"], "-o", out, "--config", config]
    load0 = load_average()
    floor = run_measured([sys.executable, os.path.abspath(__file__), "--child", "floor-several", "--workdir", work,
                          "--quality", quality], cwd=ROOT)
    if floor.returncode:
        raise SystemExit(f"floor child failed ({floor.returncode}):\n{floor.stderr[-3000:]}")
    frames = json.loads(floor.stdout.strip().splitlines()[-1])["frames"]
    run = run_measured(cmd, cwd=ROOT)
    load1 = load_average()
    if run.returncode:
        raise SystemExit(f"clipzy apply failed ({run.returncode}):\n{run.stderr[-3000:]}")
    with av.open(out) as c:
        v = c.streams.video[0]
        dur = float(c.duration / av.time_base) if c.duration else float("nan")
        shape = f"{v.codec_context.width}x{v.codec_context.height} @ {float(v.average_rate or 0):.0f} fps, {dur:.1f} s"
    print(f"$ {' '.join(cmd)}")
    print(f"inputs: template {os.path.basename(job['template'])}, clips {', '.join(os.path.basename(p) for p in job['clips'])}, "
          f"song {os.path.basename(job['song'])}; {os.cpu_count()} cores; output {shape}; work dir {work}")
    print(f"floor: decode template (video+audio) + song + every clip, x264 encode of {frames} frames at "
          f"{SIZE[0]}x{SIZE[1]} (quality {quality}); floor peak {floor.peak_mib:.0f} MiB")
    print("| work | measured s (CPU s) | floor s (CPU s) | ratio wall (CPU) | peak MiB | load average |")
    print("|---|---|---|---|---|---|")
    print(f"| apply, template_{secs} + clip1..clip5 + song → {shape} | {run.wall_s:.1f} ({run.cpu_s:.1f}) | "
          f"{floor.wall_s:.1f} ({floor.cpu_s:.1f}) | {run.wall_s / floor.wall_s:.2f}× ({run.cpu_s / floor.cpu_s:.2f}×) | "
          f"{run.peak_mib:.0f} | {load0[0]:.2f} → {load1[0]:.2f} |")


def child_apply(work: str, quality: str) -> dict:
    """The pipeline's apply stages (style_application, then rendering), each timed."""
    from clipzy.engine.analysis import framing
    from tests.synth import apply as sa

    job = json.load(open(os.path.join(work, "job.json")))
    r = job["roi"]
    roi = framing.RoiTrack(np.array(r["times_ms"]) / 1000.0, np.array(r["x"]), np.array(r["y"]), np.array(r["weight"]))
    out = os.path.join(work, "out.mp4")
    state = sa.run_apply_stages(template=job["template"], footage=job["footage"], tdna=job["tdna"], fdna=job["fdna"],
                                config={"quality": quality}, out_mp4=out, out_cube=os.path.join(work, "out.cube"),
                                out_plan=os.path.join(work, "out.edit_plan.json"), roi=roi)
    plan = state.plan.to_json()
    return {"plan_s": state.stage_seconds["style_application"], "render_s": state.stage_seconds["rendering"],
            "metadata": state.output_metadata, "segments": len(plan["segments"]),
            "cuts_on_beat": plan["beat_sync"]["cuts_on_beat"], "cuts": plan["beat_sync"]["cuts"],
            "soundtrack": plan["soundtrack"]}


def run_child(kind: str, work: str, quality: str) -> tuple[dict, float]:
    """Run a child; returns (its JSON result plus ``cpu_s`` = user + system seconds, peak RSS MiB)."""
    p = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--child", kind, "--workdir", work, "--quality", quality],
                         stdout=subprocess.PIPE, cwd=ROOT)
    out = p.stdout.read()
    _, status, ru = os.wait4(p.pid, 0)
    p.returncode = os.waitstatus_to_exitcode(status)
    if p.returncode:
        raise SystemExit(f"{kind} child failed ({p.returncode})")
    res = json.loads(out.decode().strip().splitlines()[-1])
    res["cpu_s"] = ru.ru_utime + ru.ru_stime
    return res, ru.ru_maxrss / 1024.0  # MiB


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--quality", default="medium", choices=("low", "medium", "high"))
    ap.add_argument("--workdir")
    ap.add_argument("--child", choices=("floor", "apply", "floor-several"))
    ap.add_argument("--several", action="store_true",
                    help="clipzy apply of template_<seconds> with the five clips and the song (bench/footage.py)")
    ap.add_argument("--reuse", action="store_true", help="reuse the inputs already in --workdir")
    a = ap.parse_args()
    if a.child:
        child = {"floor": child_floor, "apply": child_apply, "floor-several": child_floor_several}[a.child]
        print(json.dumps(child(a.workdir, a.quality)))
        return
    work = a.workdir or tempfile.mkdtemp(prefix="clipzy-bench-apply-")
    os.makedirs(work, exist_ok=True)
    if a.several:
        several(work, a.seconds, a.quality)
        return
    if a.reuse and os.path.exists(os.path.join(work, "job.json")):
        job = json.load(open(os.path.join(work, "job.json")))
    else:
        job = prepare(work, a.seconds)
    # floor, apply, floor again: the machine is shared, so the floor is measured on both sides
    # of the apply and the ratio uses their mean
    floor1, rss_floor = run_child("floor", work, a.quality)
    res, rss_apply = run_child("apply", work, a.quality)
    floor2, rss_floor2 = run_child("floor", work, a.quality)
    rss_floor = max(rss_floor, rss_floor2)
    floor = {"floor_s": (floor1["floor_s"] + floor2["floor_s"]) / 2, "frames": floor1["frames"], "cpu_s": (floor1["cpu_s"] + floor2["cpu_s"]) / 2}
    print(f"floor runs: {floor1['floor_s']:.1f} s before, {floor2['floor_s']:.1f} s after the apply (wall); "
          f"CPU {floor1['cpu_s']:.1f} / {floor2['cpu_s']:.1f} s")
    total = res["plan_s"] + res["render_s"]
    print(f"inputs: {a.seconds:.0f} s of {SIZE[0]}x{SIZE[1]} @ {FPS} fps footage ({floor['frames']} frames), quality {a.quality}; work dir {work}")
    print(f"(making inputs {job['made_s']:.1f} s; footage colour+ROI analysis pass {job['analysis_s']:.1f} s, not part of apply)")
    print("| stage | seconds | × floor | peak RSS MiB |")
    print("|---|---|---|---|")
    print(f"| floor (decode footage + template, encode same x264 settings) | {floor['floor_s']:.1f} | 1.00 | {rss_floor:.0f} |")
    print(f"| style_application (plan + LUT + .cube + edit_plan) | {res['plan_s']:.2f} | {res['plan_s'] / floor['floor_s']:.2f} | |")
    print(f"| rendering (mix + decode/crop/scale/LUT/transitions + encode) | {res['render_s']:.1f} | {res['render_s'] / floor['floor_s']:.2f} | |")
    print(f"| apply total | {total:.1f} | {total / floor['floor_s']:.2f} | {rss_apply:.0f} |")
    print(f"CPU seconds (user+system, robust to other load): floor {floor['cpu_s']:.1f}, apply {res['cpu_s']:.1f} "
          f"→ {res['cpu_s'] / floor['cpu_s']:.2f} × floor")
    print(f"segments {res['segments']}, cuts on beat {res['cuts_on_beat']}/{res['cuts']}, soundtrack {res['soundtrack']}")
    print(f"output {res['metadata']}")


if __name__ == "__main__":
    main()
