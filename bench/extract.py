"""``clipzy extract`` as a user runs it, against the decode floor measured in the same run.

    .venv/bin/python bench/extract.py [VIDEO ...] [--seconds 60 [600 ...]] [--no-model] [--cold]

Without VIDEO it measures ``template_<seconds>.mp4`` of bench/footage.py: real camera
footage joined and upscaled to 1920×1080 at 30 fps, with music. For each video, each in a
fresh child process sampled for the peak RSS of its process tree (bench/measure.py):

* floor: a plain threaded PyAV decode of every frame (no conversion);
* ``clipzy extract VIDEO -o DNA.json``: wall and CPU seconds, peak MiB, the stages' own
  seconds from the Style DNA's ``analysis.stage_seconds``, and wall ÷ floor (target ≤ 3.0×,
  peak < 1536 MiB, flat from 60 s to 10 min);
* what the Style DNA found (shots, transitions, text overlays, tempo), to show quality at a glance.

``--cold`` adds bench/coldstart.py's table (fresh ``clipzy extract`` of a 5 s clip, first job
after the service starts). The quality benchmarks are bench/shots.py, ``bench/text.py --eval``
and bench/audio.py; ``--quality`` runs them after the speed table and prints their tables.
``--no-model`` points the command at an empty models folder (classical shot detector, VAD fallback).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import footage  # noqa: E402
from measure import Measured, load_average, run_measured  # noqa: E402

CLIPZY = str(Path(sys.executable).parent / "clipzy")
QUALITY = (["shots.py", "--set", "both", "--only", "int8,classical", "--no-scenedetect"], ["text.py", "--eval"], ["audio.py"])


def decode_floor(path: str) -> None:
    """The floor: every frame of ``path`` decoded by PyAV with FFmpeg's threads, nothing else."""
    import av

    with av.open(path) as c:
        s = c.streams.video[0]
        s.thread_type = "AUTO"
        for _ in c.decode(s):
            pass


def measure(path: str, *, models: str | None, work: Path) -> dict:
    """Floor and ``clipzy extract`` of ``path``, each a measured child process."""
    floor = run_measured([sys.executable, __file__, "--floor", path], cwd=str(ROOT))
    out = work / (Path(path).stem + ".style_dna.json")
    env = dict(os.environ, **({"CLIPZY_MODELS_PATH": models} if models else {}))
    run = run_measured([CLIPZY, "extract", path, "-o", str(out)], env=env, cwd=str(ROOT))
    if run.returncode:
        raise SystemExit(f"clipzy extract {path} failed ({run.returncode}):\n{run.stderr[-3000:]}")
    dna = json.loads(out.read_text())
    return {"video": Path(path).name, "floor": floor, "run": run, "dna": dna}


def _found(dna: dict) -> str:
    """What the Style DNA measured, in a few words."""
    kinds: dict[str, int] = {}
    for t in dna.get("transitions") or []:
        kinds[t.get("type")] = kinds.get(t.get("type"), 0) + 1
    return (f"{dna['pacing']['shot_count']} shots, transitions {kinds}, {len(dna.get('text_overlays') or [])} "
            f"text overlays, tempo {dna.get('tempo_bpm')} BPM, {len(dna.get('detected_beats') or [])} beats, "
            f"detector {dna['analysis']['shot_detector']}")


def print_table(rows: list[dict]) -> None:
    """The speed table (one row per video) and the stage seconds of each."""
    print("| video | duration s | floor s (CPU s) | extract s | CPU s | peak MiB | extract ÷ floor | target |")
    print("|---|---|---|---|---|---|---|---|")
    for r in rows:
        f, m, dur = r["floor"], r["run"], r["dna"]["source_duration_seconds"]
        print(f"| {r['video']} | {dur:.0f} | {f.wall_s:.1f} ({f.cpu_s:.1f}) | {m.wall_s:.1f} | {m.cpu_s:.1f} | "
              f"{m.peak_mib:.0f} | {m.wall_s / f.wall_s:.2f}× | ≤ 3.0×, < 1536 MiB |")
    for r in rows:
        stages = ", ".join(f"{k} {v:.1f}" for k, v in r["dna"]["analysis"]["stage_seconds"].items())
        print(f"  {r['video']}: stages (s) {stages}; floor peak {r['floor'].peak_mib:.0f} MiB")
        print(f"  {r['video']}: {_found(r['dna'])}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("videos", nargs="*")
    ap.add_argument("--seconds", type=int, nargs="+", default=[60], help="bench footage lengths (template_<s>.mp4)")
    ap.add_argument("--no-model", action="store_true", help="use the classical shot detector")
    ap.add_argument("--cold", action="store_true", help="also print the cold-start table (bench/coldstart.py)")
    ap.add_argument("--quality", action="store_true", help="also run the shot, text and audio quality benchmarks")
    ap.add_argument("--floor", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.floor:
        decode_floor(a.floor)
        return
    videos = list(a.videos) or [str(footage.build(f"template_{s}", footage.WORK)) for s in a.seconds]
    with tempfile.TemporaryDirectory(prefix="clipzy-bench-extract-") as tmp:
        models = str(Path(tmp) / "no-models") if a.no_model else None
        print(f"load average before: {load_average()}; {os.cpu_count()} cores")
        rows = [measure(v, models=models, work=Path(tmp)) for v in videos]
        print(f"load average after: {load_average()}\n")
    print_table(rows)
    if a.cold:
        print()
        subprocess.run([sys.executable, str(ROOT / "bench" / "coldstart.py")], check=True, cwd=ROOT)
    for cmd in QUALITY if a.quality else ():
        print(f"\n$ python bench/{' '.join(cmd)}", flush=True)
        subprocess.run([sys.executable, str(ROOT / "bench" / cmd[0]), *cmd[1:]], check=False, cwd=ROOT)


if __name__ == "__main__":
    main()
