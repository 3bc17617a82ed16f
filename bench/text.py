"""Benchmark on-screen text analysis on a real edited video (default: wannaworktogether.mp4).

Runs one FramePump with one :class:`clipzy.engine.analysis.text.TextAnalyzer` over the whole file
(decode included; shot spans for ``use_subtitles`` come from a separate untimed pass of
the shot detector unless ``--no-shots``), optionally limited to N CPU cores (``--cores``, via the process CPU
affinity and onnxruntime/OpenCV threads), prints a timing table and the overlays found.
The real video has no ground truth: its overlay count is a count, not a score.

``--eval`` scores the detector instead on the clips of tests/synth/text.py (real cockatoo
footage with captions, a title and a tag drawn at known cells, times, sizes and colours;
and a plain clip): recall, cell accuracy, start/end errors, size ratio, colour error and
false overlays. tests/test_text.py asserts looser bounds on the same clips.

    .venv/bin/python bench/text.py [--video PATH] [--every-s 0.5] [--cores 2] [--json] [--no-shots] [--eval]
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--video", default=str(ROOT.parent / "shared" / "media" / "wannaworktogether.mp4"))
    ap.add_argument("--every-s", type=float, default=0.5)
    ap.add_argument("--cores", type=int, default=2, help="CPU cores to run on (0 = all)")
    ap.add_argument("--json", action="store_true", help="print the finish() result as JSON too")
    ap.add_argument("--no-shots", action="store_true",
                    help="treat the video as one shot instead of detecting shots first (untimed pass)")
    ap.add_argument("--eval", action="store_true", help="score recall and timing on clips with drawn text")
    args = ap.parse_args()

    if args.cores:
        cpus = sorted(os.sched_getaffinity(0))[: args.cores]
        os.sched_setaffinity(0, cpus)
    import cv2

    cv2.setNumThreads(max(1, len(os.sched_getaffinity(0))))

    from clipzy.engine import dna, media
    from clipzy.engine.analysis import text

    if args.eval:
        return evaluate(args.every_s)

    t0 = time.perf_counter()
    text.is_available()  # loads the engine: its time is reported below
    t_load = time.perf_counter() - t0

    info = media.probe(args.video)
    analyzer = text.TextAnalyzer(info, every_s=args.every_s)
    t1 = time.perf_counter()
    cpu1 = time.process_time()
    frames = media.FramePump(args.video, [analyzer], info=info).run()
    wall = time.perf_counter() - t1
    cpu = time.process_time() - cpu1
    shots_s = [(0.0, info.duration_seconds)]
    shot_detector = "none (one shot)"
    if not args.no_shots:  # shot spans for use_subtitles, from a separate, untimed pass
        from clipzy.engine.analysis import shots

        det = shots.make_detector(info)
        media.FramePump(args.video, [det], info=info).run()
        res = det.finish()
        shots_s = res.shots_s(info.duration_seconds)
        shot_detector = res.detector
    result = dna.text_fields(analyzer.finish(shots_s))

    minutes = info.duration_seconds / 60.0
    rows = [
        ("video", f"{Path(args.video).name} {info.width}x{info.height} {info.frame_rate:.2f} fps {info.duration_seconds:.1f} s"),
        ("cores", str(len(os.sched_getaffinity(0)))),
        ("detector", result["detector"]),
        ("engine load s", f"{t_load:.2f}"),
        ("analysis size", f"{analyzer.frame_size[0]}x{analyzer.frame_size[1]}"),
        ("every_s", f"{analyzer.every_s}"),
        ("frames decoded", str(frames)),
        ("frames sampled", str(analyzer.frames_seen)),
        ("frames OCR'd", str(analyzer.frames_ocr)),
        ("lines recognised", str(analyzer.lines_recognised)),
        ("lines reused", str(analyzer.lines_reused)),
        ("wall s", f"{wall:.1f}"),
        ("process CPU s", f"{cpu:.1f}"),
        ("wall s per minute", f"{wall / minutes:.1f}"),
        ("CPU s per minute", f"{cpu / minutes:.1f}"),
        ("shots (untimed)", f"{len(shots_s)} by {shot_detector}"),
        ("overlays", str(len(result["text_overlays"]))),
        ("use_subtitles", str(result["use_subtitles"])),
    ]
    w = max(len(k) for k, _ in rows)
    print("| " + "metric".ljust(w) + " | value")
    print("|-" + "-" * w + "-|------")
    for k, v in rows:
        print("| " + k.ljust(w) + " | " + v)
    print()
    print(f"{'start_s':>8} {'dur_s':>6} {'position':<14} {'size':>4} {'color':<8} content")
    for o in result["text_overlays"]:
        print(f"{o['start_ms'] / 1000:8.2f} {o['duration_ms'] / 1000:6.2f} {o['position']:<14} "
              f"{o['size'] if o['size'] is not None else '-':>4} {o['color'] or '-':<8} {o['content']}")
    if args.json:
        print(json.dumps(result, indent=2))
    return 0


def evaluate(every_s: float) -> int:
    """Score the text analyser on the ground-truth clips of tests/synth/text.py (module docstring)."""
    import tempfile

    import numpy as np

    from clipzy.engine import dna, media
    from clipzy.engine.analysis import text
    from tests.synth.text import build_clip

    key = lambda s: text.normalise_whitespace(s).casefold()  # noqa: E731
    src = str(ROOT.parent / "shared" / "media" / "cockatoo.mp4")
    print("| clip | drawn | found | recall | cell ok | max start err s | max end err s | size ratio | max colour err | false |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory(prefix="clipzy-bench-text-") as tmp:
        for kind in ("captions", "title", "plain"):
            clip = build_clip(kind, src, tmp)
            info = media.probe(clip.path)
            an = text.TextAnalyzer(info, every_s=every_s)
            media.FramePump(clip.path, [an], info=info).run()
            res = dna.text_fields(an.finish(clip.shots_s))
            found = {key(o["content"]): o for o in res["text_overlays"]}
            hits = [(d, found[key(d.text)]) for d in clip.texts if key(d.text) in found]
            truth = {key(d.text) for d in clip.texts}
            false = sum(1 for o in res["text_overlays"] if key(o["content"]) not in truth)
            starts = [abs(o["start_ms"] / 1000 - d.start_s) for d, o in hits]
            ends = [abs((o["start_ms"] + o["duration_ms"]) / 1000 - d.end_s) for d, o in hits]
            ratios = [o["size"] / d.ink_height_px for d, o in hits if o["size"]]
            colours = [int(np.abs(np.array([int(o["color"][i:i + 2], 16) for i in (1, 3, 5)]) - np.array(d.rgb)).max())
                       for d, o in hits if o["color"]]
            fmt = lambda v, f: (f.format(v) if v is not None else "-")  # noqa: E731
            print(f"| {kind} | {len(clip.texts)} | {len(hits)} | {fmt(len(hits) / len(clip.texts) if clip.texts else None, '{:.2f}')} | "
                  f"{sum(o['position'] == d.cell for d, o in hits)}/{len(hits)} | {fmt(max(starts) if starts else None, '{:.2f}')} | "
                  f"{fmt(max(ends) if ends else None, '{:.2f}')} | "
                  f"{fmt(min(ratios) if ratios else None, '{:.2f}')}–{fmt(max(ratios) if ratios else None, '{:.2f}')} | "
                  f"{fmt(max(colours) if colours else None, '{}')} | {false} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
