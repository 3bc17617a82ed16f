"""Benchmark on-screen text analysis on a real edited video (default: wannaworktogether.mp4).

Runs one FramePump with one :class:`clipzy.engine.analysis.text.TextAnalyzer` over the whole file
(decode included; shot spans for ``use_subtitles`` come from a separate untimed pass of
the shot detector unless ``--no-shots``), optionally limited to N CPU cores (``--cores``, via the process CPU
affinity and onnxruntime/OpenCV threads), prints a timing table and the overlays found.

    .venv/bin/python bench/text.py [--video PATH] [--every-s 0.5] [--cores 2] [--json] [--no-shots]
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
    args = ap.parse_args()

    if args.cores:
        cpus = sorted(os.sched_getaffinity(0))[: args.cores]
        os.sched_setaffinity(0, cpus)
    import cv2

    cv2.setNumThreads(max(1, len(os.sched_getaffinity(0))))

    from clipzy.engine import dna, media
    from clipzy.engine.analysis import text

    t0 = time.perf_counter()
    available = text.is_available()
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


if __name__ == "__main__":
    raise SystemExit(main())
