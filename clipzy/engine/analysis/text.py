"""On-screen text: OCR of sampled frames, tracked into ``text_overlays`` and ``use_subtitles``.

Detector
--------
`RapidOCR <https://github.com/RapidAI/RapidOCR>`_ (Apache-2.0) on onnxruntime with the
PP-OCR models that ship *inside* the ``rapidocr`` wheel (``rapidocr/models``:
``PP-OCRv6_det_small.onnx`` for text-line detection, ``PP-OCRv6_rec_small.onnx`` for
recognition; the character table is embedded in the recognition model's metadata). Every
model is passed as an explicit ``model_path``: with an explicit path rapidocr never takes
its download branch, and the character table comes from the model, so nothing is fetched
(``tests/test_text.py`` builds an engine with sockets and rapidocr's downloader disabled).
The orientation classifier is off: overlay text in edited video is upright, and it would
cost a third model run per line. The engine is built once per process and shared; its
detection and recognition run on onnxruntime sessions made here, with the providers of
:func:`clipzy.engine.models.providers` (CUDA only when that probe kept it),
:func:`ocr_threads` intra-op threads and thread spin-waiting off (see
:func:`_use_own_sessions`); a rapidocr engine mutates its own settings on every call, so calls
are serialised by a lock. If the package or a model file is missing the analyser reports
``detector = "unavailable"``, ``text_overlays = []`` and ``use_subtitles = None``.

Sampling
--------
:class:`TextAnalyzer` is a :class:`~clipzy.engine.media.FramePump` consumer. It asks for
frames ``ANALYSIS_WIDTH`` (960) display pixels wide, never wider than the source, every
``every_s`` seconds (default 0.5 s, i.e. 2 frames per second). A sampled frame whose 64×36
grey thumbnail differs from the last OCR'd frame's by less than ``UNCHANGED_MAD`` on
average and less than ``UNCHANGED_MAX`` in every cell (0–255 levels) is not OCR'd: the text on screen is taken to be the same,
so every track seen in the last OCR'd frame is extended to it. Other frames go through text
detection; a detected line whose box overlaps a live track's last box (IoU ≥
``REUSE_IOU``) and whose 96×24 grey thumbnail is unchanged (MAD < ``REUSE_MAD``) keeps that
track's reading, every other line is recognised. Memory is bounded: the analyser keeps two
thumbnails and per-track summaries, never frames.

Tracking and filtering
----------------------
Readings are whitespace-normalised (runs of whitespace → one space, ends stripped).
A line whose recognition score is below ``MIN_SCORE`` (0.80, rapidocr's mean
per-character probability) or that has fewer than ``MIN_ALNUM`` (2) letters or digits is
dropped (icons and bullets read as "●", "□"). A reading joins a live track when their boxes
overlap (intersection ≥ ``MATCH_OVERLAP`` of the smaller box) and their case-folded texts
are equal or nearly so (difflib ratio ≥ ``MATCH_SIMILARITY`` = 0.8, which absorbs
single-character OCR flicker on animated text); otherwise it starts a new track. A track
that is missing from OCR'd frames for more than ``max_gap_s`` (= 2 × ``every_s``, so one
missed sample is bridged) is closed. Times are the midpoints between the last sample
without and the first sample with the text (start), and between the last sample with and
the first sample without it (end); a track open at the end of the video ends at the
video's duration. So each edge is within ``every_s / 2`` of the truth (when the text is
detected). A track is kept as a ``text_overlays`` entry when it was seen in at least
``MIN_SAMPLES`` (2) sampled frames, i.e. it stayed on screen for at least about ``every_s``.

Overlay fields
--------------
* ``content``: the reading of the track with the highest summed score (case as read);
  readings that differ only in spaces count as one, keeping a space that readings with a
  third of their score saw (:func:`reading`).
* ``position``: the 3×3 grid cell holding the mean centre of the track's boxes.
* ``size``: text height in display pixels of the *source* video: the vertical extent of the
  glyph pixels in the line's upright crop (so rotated text is measured across its
  baseline; median over observations), scaled from the analysis size.
* ``color``: ``#rrggbb`` median colour of the glyph pixels. Inside the upright crop the
  pixels are split in two by 2-means in CIELAB (started from Otsu's grey threshold); the
  glyph class is the one that touches the crop's border less (the background surrounds
  the glyphs), or the minority class when both touch it about equally (see
  :func:`glyph_stats`); the colour is the median of the glyph-core half of those pixels
  (closest to the class centre, not anti-aliased edges), then the median over
  observations. Text on a background of two or more contrasting colours (white letters
  on a black band over green) can be given the band's colour: two classes cannot
  describe three.
* ``start_s``, ``end_s``: seconds (the Style DNA writes ``start_ms``/``duration_ms``).

Speed
-----
``bench/text.py`` on ``wannaworktogether.mp4`` (480×352, 180 s, motion graphics: the
picture changes almost all the time, so about 3 of 4 samples are OCR'd): about 11–12 CPU
seconds per minute of video on 2 cores, decode included (detection ≈ 60 ms and recognition
≈ 30 ms CPU per call at that size).

use_subtitles
-------------
With ``shots_s`` the shot spans (start_s, end_s): caption time is the union of the
intervals of the kept overlays whose centre lies in the bottom third of the frame. A shot
is *captioned* when caption time covers at least ``CAPTION_SHOT_COVER`` (50 %) of it.
``use_subtitles`` is True when (a) at least ``min(2, number of shots)`` shots are captioned,
(b) at least a third of all shots are captioned, and (c) the bottom-third overlays carry at
least 2 different texts (so a single static watermark or lower-third name card is not
subtitles). Otherwise False; None only when the detector is unavailable.
"""
from __future__ import annotations

import difflib
import logging
import math
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from ..media import VideoInfo, fit_width
from ..models import ModelRegistry
from ..terms import POSITIONS

log = logging.getLogger("clipzy.text")

#: ``detector`` value when OCR ran.
DETECTOR = "rapidocr-ppocr-onnx"
#: ``detector`` value when rapidocr or its bundled models cannot be loaded.
UNAVAILABLE = "unavailable"

#: Analysis width in display pixels (capped at the source width).
ANALYSIS_WIDTH = 960
#: Model files inside the rapidocr package's ``models`` folder.
DET_MODEL = "PP-OCRv6_det_small.onnx"
REC_MODEL = "PP-OCRv6_rec_small.onnx"
CLS_MODEL = "ch_ppocr_mobile_v2.0_cls_mobile.onnx"  # configured but never run (use_cls off)

#: Minimum recognition score (mean character probability, 0–1) of a kept reading.
MIN_SCORE = 0.80
#: Share of a track's summed score whose readings must hold a space for it to be kept
#: (:func:`reading`).
SPACE_SHARE = 1 / 3
#: Minimum number of letters/digits in a kept reading.
MIN_ALNUM = 2
#: Minimum number of sampled frames a kept overlay was seen in.
MIN_SAMPLES = 2
#: Frame-change test on 64×36 grey thumbnails (0–255 levels): unchanged when the mean
#: absolute difference is below UNCHANGED_MAD and no thumbnail cell moved by UNCHANGED_MAX
#: (a small caption appearing on a still picture changes few cells, but those a lot).
UNCHANGED_MAD = 1.5
UNCHANGED_MAX = 16.0
#: Line reuse: IoU with a live track's last box and MAD of 96×24 grey line thumbnails.
REUSE_IOU = 0.6
REUSE_MAD = 4.0
#: Track matching: overlap (intersection / smaller area) and text similarity (difflib ratio).
MATCH_OVERLAP = 0.3
MATCH_SIMILARITY = 0.8
#: use_subtitles: share of a shot that bottom-third text must cover for the shot to count.
CAPTION_SHOT_COVER = 0.5

GRID = (POSITIONS[0:3], POSITIONS[3:6], POSITIONS[6:9])  # rows of the 3×3 position grid

_THUMB = (64, 36)
_LINE_THUMB = (96, 24)
_MAX_SAMPLES = 16  # per-track colour/size observations kept (medians)
_MAX_VARIANTS = 16  # per-track distinct readings kept


# ---------------------------------------------------------------------------
# The shared OCR engine
# ---------------------------------------------------------------------------

_engine_lock = threading.Lock()  # guards creation and every call (rapidocr mutates itself)
_engines: dict[tuple[str, ...], Any] = {}  # providers → engine (None: unavailable)


def model_dir() -> Path | None:
    """The ``models`` folder of the installed rapidocr package, or None if not installed."""
    try:
        import rapidocr
    except Exception:  # ImportError, or a broken install
        return None
    return Path(rapidocr.__file__).resolve().parent / "models"


def ocr_status() -> dict[str, Any]:
    """The text detector as a learned model for /health: available when rapidocr and its
    bundled PP-OCR detection and recognition files are installed."""
    folder = model_dir()
    try:
        from importlib.metadata import version

        source = f"rapidocr=={version('rapidocr')} (bundled PP-OCR models)"
    except Exception:  # noqa: BLE001 - not installed
        source = "rapidocr (not installed)"
    available = folder is not None and all((folder / f).is_file() for f in (DET_MODEL, REC_MODEL))
    return {"available": bool(available), "file": f"{DET_MODEL}, {REC_MODEL}", "source": source,
            "fallback": "none: use_subtitles null, no text overlays"}


def _build_engine(models: Path | None = None, providers: tuple[str, ...] | None = None) -> Any:
    """A new RapidOCR engine on the bundled model files only; None if they are missing.

    ``providers``: the onnxruntime execution providers its sessions use (default: those of
    :meth:`ModelRegistry.from_environ`). Raises nothing: any load failure is logged and
    gives None.
    """
    models = models if models is not None else model_dir()
    if providers is None:
        providers = tuple(ModelRegistry.from_environ().providers())
    if models is None:
        log.warning("rapidocr is not installed: on-screen text detection unavailable")
        return None
    files = {k: models / f for k, f in (("det", DET_MODEL), ("rec", REC_MODEL), ("cls", CLS_MODEL))}
    missing = [f.name for k, f in files.items() if k != "cls" and not f.is_file()]
    if missing:
        log.warning("rapidocr model files missing (%s): on-screen text detection unavailable", ", ".join(missing))
        return None
    try:
        from rapidocr import RapidOCR

        use_cuda = "CUDAExecutionProvider" in providers
        params: dict[str, Any] = {
            "Global.log_level": "error",
            "Global.use_cls": False,
            "Global.text_score": 0.0,  # we filter with MIN_SCORE ourselves
            "Global.model_root_dir": str(models),
            "Det.model_path": str(files["det"]),
            "Rec.model_path": str(files["rec"]),
            # detection at the analysis size itself (never upscaled to 736 px short side)
            "Det.limit_type": "max",
            "Det.limit_side_len": ANALYSIS_WIDTH,
            "EngineConfig.onnxruntime.use_cuda": use_cuda,
            "EngineConfig.onnxruntime.intra_op_num_threads": min(ocr_threads(), os.cpu_count() or 1),
            # rec crops vary in width: exhaustive cuDNN search per shape would dominate
            "EngineConfig.onnxruntime.cuda_ep_cfg.cudnn_conv_algo_search": "HEURISTIC",
        }
        if files["cls"].is_file():
            params["Cls.model_path"] = str(files["cls"])
        engine = RapidOCR(params=params)
        # load both sessions now (rapidocr loads lazily) so failures surface here
        probe = np.full((64, 256, 3), 255, np.uint8)
        cv2.putText(probe, "OK 12", (8, 44), cv2.FONT_HERSHEY_SIMPLEX, 1.2, (0, 0, 0), 2, cv2.LINE_AA)
        engine(probe, use_det=True, use_cls=False, use_rec=True)
        _use_own_sessions(engine, files["det"], files["rec"], providers)
        engine(probe, use_det=True, use_cls=False, use_rec=True)
        return engine
    except Exception as exc:  # noqa: BLE001 - any failure means "unavailable"
        log.warning("rapidocr engine failed to load (%s): on-screen text detection unavailable", exc)
        return None


def ocr_threads() -> int:
    """onnxruntime intra-op threads for OCR: CLIPZY_OCR_THREADS, else the usable CPUs (≤ 4)."""
    env = os.environ.get("CLIPZY_OCR_THREADS", "").strip()
    if env:
        try:
            n = int(env)
        except ValueError:
            raise ValueError(f"CLIPZY_OCR_THREADS must be an integer, got {env!r}") from None
        if n < 1:
            raise ValueError(f"CLIPZY_OCR_THREADS must be >= 1, got {n}")
        return n
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cpus = os.cpu_count() or 1
    return max(1, min(4, cpus))


def _use_own_sessions(engine: Any, det_path: Path, rec_path: Path, providers: tuple[str, ...]) -> None:
    """Run rapidocr's det/rec on sessions made here: clipzy's providers, no spin-waiting.

    rapidocr builds its sessions with onnxruntime's default thread pool, whose workers
    spin-wait between operators: on a shared 2-core machine that doubles the CPU time of
    OCR (measured 0.24 vs 0.10 CPU s per frame) and starves the decoder thread. Its
    configuration cannot carry a session object, so the inference session inside
    rapidocr's (documented, pluggable) ``OrtInferSession`` wrapper is swapped. If this
    rapidocr version lays its objects out differently, its own sessions are kept.
    """
    import onnxruntime as ort

    targets = []
    for holder, path in ((getattr(engine, "text_det", None), det_path), (getattr(engine, "text_rec", None), rec_path)):
        wrapper = getattr(holder, "session", None)
        if wrapper is None or not isinstance(getattr(wrapper, "session", None), ort.InferenceSession):
            log.info("rapidocr layout not recognised: keeping its own onnxruntime sessions")
            return
        targets.append((wrapper, path))
    for wrapper, path in targets:
        so = ort.SessionOptions()
        so.log_severity_level = 3
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        so.intra_op_num_threads = ocr_threads()
        so.inter_op_num_threads = 1
        so.add_session_config_entry("session.intra_op.allow_spinning", "0")
        so.add_session_config_entry("session.inter_op.allow_spinning", "0")
        wrapper.session = ort.InferenceSession(str(path), so, providers=list(providers))


def engine(providers: tuple[str, ...] | None = None) -> Any:
    """The process-wide RapidOCR engine for ``providers`` (built on first use; default: those
    of :meth:`ModelRegistry.from_environ`), or None when unavailable."""
    key = tuple(providers) if providers is not None else tuple(ModelRegistry.from_environ().providers())
    with _engine_lock:
        if key not in _engines:
            _engines[key] = _build_engine(providers=key)
        return _engines[key]


def is_available(providers: tuple[str, ...] | None = None) -> bool:
    """Whether on-screen text detection can run in this process (see :func:`engine`)."""
    return engine(providers) is not None


@dataclass(frozen=True)
class TextLine:
    """One detected line in an image. Coordinates in pixels of that image."""

    quad: np.ndarray  # (4, 2) float32 corner points
    text: str  # whitespace-normalised reading ("" when not recognised)
    score: float  # recognition score 0–1 (0 when not recognised)


def crop_line(img: np.ndarray, quad: np.ndarray) -> np.ndarray:
    """Upright crop of a detected line's (roughly rectangular) quad by a perspective warp.

    ``quad``: (4, 2) corners clockwise from the line's top-left, in ``img`` pixels.
    """
    q = quad.astype(np.float32)
    w = int(max(np.linalg.norm(q[0] - q[1]), np.linalg.norm(q[2] - q[3])))
    h = int(max(np.linalg.norm(q[0] - q[3]), np.linalg.norm(q[1] - q[2])))
    w, h = max(w, 2), max(h, 2)
    dst = np.array([[0, 0], [w, 0], [w, h], [0, h]], np.float32)
    m = cv2.getPerspectiveTransform(q, dst)
    crop = cv2.warpPerspective(img, m, (w, h), borderMode=cv2.BORDER_REPLICATE, flags=cv2.INTER_CUBIC)
    if h > 1.5 * w:  # vertical line: rotate like PP-OCR does
        crop = np.rot90(crop)
    return np.ascontiguousarray(crop)


def normalise_whitespace(text: str) -> str:
    """Whitespace-normalised text: runs of whitespace become one space, ends stripped."""
    return " ".join(str(text).split())


def reading(variants: dict[str, float]) -> str:
    """One text from a track's readings ``{text: summed score}``.

    Readings that differ only in their spaces are one reading: the group with the highest
    summed score wins, its letters as read, with a space at each place where readings
    holding at least :data:`SPACE_SHARE` of the group's score have one. PP-OCR drops
    narrow spaces between Latin words far more often than it invents one inside a word,
    so a space that a fair share of the frames saw is kept.
    """
    if not variants:
        raise ValueError("a track has at least one reading")
    groups: dict[str, dict[str, float]] = {}
    for text_, score in variants.items():
        groups.setdefault("".join(text_.split()), {})[text_] = score
    group = max(groups.values(), key=lambda g: sum(g.values()))
    total = sum(group.values())
    letters = "".join(next(iter(group)).split())  # the same for every member
    weight = [0.0] * len(letters)  # weight[i]: score of readings with a space before char i
    for text_, score in group.items():
        i = 0
        for word in text_.split()[:-1]:
            i += len(word)
            weight[i] += score
    return "".join((" " if i and weight[i] >= SPACE_SHARE * total else "") + c for i, c in enumerate(letters))


def detect_lines(image_bgr: np.ndarray, *, ocr: Any = None) -> list[np.ndarray] | None:
    """Text-line quads (each (4, 2) float32, image pixels) in a BGR uint8 image.

    ``ocr``: the engine to use (default :func:`engine`). None when the detector is unavailable.
    """
    eng = ocr if ocr is not None else engine()
    if eng is None:
        return None
    with _engine_lock:
        out = eng(image_bgr, use_det=True, use_cls=False, use_rec=False)
    boxes = getattr(out, "boxes", None)
    if boxes is None:
        return []
    return [np.asarray(b, np.float32).reshape(4, 2) for b in boxes]


def recognise(crops_bgr: list[np.ndarray], *, ocr: Any = None) -> list[tuple[str, float]] | None:
    """(whitespace-normalised text, score 0–1) of each upright BGR line crop; None if unavailable."""
    eng = ocr if ocr is not None else engine()
    if eng is None:
        return None
    out: list[tuple[str, float]] = []
    with _engine_lock:
        for crop in crops_bgr:
            r = eng(crop, use_det=False, use_cls=False, use_rec=True)
            txts = getattr(r, "txts", None) or ("",)
            scores = getattr(r, "scores", None) or (0.0,)
            out.append((normalise_whitespace(txts[0]), float(scores[0])))
    return out


def ocr_image(image_rgb: np.ndarray) -> list[TextLine] | None:
    """Detect and recognise every text line of an RGB uint8 image; None if unavailable."""
    if image_rgb.ndim != 3 or image_rgb.shape[2] != 3 or image_rgb.dtype != np.uint8:
        raise ValueError("image must be uint8 RGB (h, w, 3)")
    bgr = np.ascontiguousarray(image_rgb[:, :, ::-1])
    quads = detect_lines(bgr)
    if quads is None:
        return None
    reads = recognise([crop_line(bgr, q) for q in quads]) or []
    return [TextLine(q, t, s) for q, (t, s) in zip(quads, reads)]


# ---------------------------------------------------------------------------
# Glyph measurements
# ---------------------------------------------------------------------------


def glyph_stats(patch: np.ndarray) -> tuple[tuple[int, int, int] | None, float | None]:
    """(median RGB of the glyph pixels, glyph height in pixels) of an upright line crop.

    ``patch``: uint8 RGB crop of one detected line (see :func:`crop_line`), text
    horizontal. Its pixels are split in two classes by 2-means in CIELAB, started from
    Otsu's threshold on the grey levels (deterministic; colour separates text from a
    background of the same lightness). The glyph class is the one touching the crop's
    border less (the detector's box has a margin of background around the glyphs), or the
    minority class when both touch it within 0.15 of each other; connected parts of that
    class touching the border are background reaching into the box and are dropped
    (unless that leaves under 30 % of it). Colour: median RGB of the glyph pixels closest
    to their class centre (the better half: glyph cores, not anti-aliased or
    chroma-smeared edges). Height: extent of the rows holding at least 2 % of the crop's
    width in glyph pixels. (None, None) when the crop is degenerate or has no contrast.
    """
    if patch.ndim != 3 or patch.shape[0] < 3 or patch.shape[1] < 3:
        return None, None
    gray = cv2.cvtColor(patch, cv2.COLOR_RGB2GRAY)
    lab = cv2.cvtColor(patch.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab).reshape(-1, 3)
    if float(np.ptp(lab, axis=0).max()) < 8.0:
        return None, None
    _, otsu = cv2.threshold(gray, 0, 1, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    init = otsu.reshape(-1, 1).astype(np.int32)
    if init.min() == init.max():
        return None, None
    criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 20, 0.1)
    _, labels, centres = cv2.kmeans(lab, 2, init, criteria, 1, cv2.KMEANS_USE_INITIAL_LABELS)
    mask = labels.reshape(gray.shape).astype(np.uint8)
    border = np.concatenate([mask[0], mask[-1], mask[:, 0], mask[:, -1]])
    b1 = float(border.mean())  # share of the border in class 1
    if abs(b1 - (1.0 - b1)) >= 0.15:
        glyph_label = 1 if b1 < 0.5 else 0
    else:
        glyph_label = 1 if float(mask.mean()) < 0.5 else 0
    glyph = mask == glyph_label
    # background of the same class reaching into the box touches its border: drop those
    # components unless that would leave less than 30 % of the class
    n, comp = cv2.connectedComponents(glyph.astype(np.uint8), connectivity=8)
    if n > 2:
        edge = np.unique(np.concatenate([comp[0], comp[-1], comp[:, 0], comp[:, -1]]))
        inner = glyph & ~np.isin(comp, edge[edge > 0])
        if inner.sum() >= 0.3 * glyph.sum():
            glyph = inner
    if glyph.sum() < 4:
        return None, None
    flat = glyph.reshape(-1)
    dist = np.linalg.norm(lab[flat] - centres[glyph_label], axis=1)
    core = patch.reshape(-1, 3)[flat][dist <= np.median(dist)]
    colour = np.median(core, axis=0)
    rows = np.flatnonzero(glyph.sum(axis=1) >= max(1.0, 0.02 * glyph.shape[1]))
    height = float(rows[-1] - rows[0] + 1) if rows.size else None
    return (int(colour[0]), int(colour[1]), int(colour[2])), height


def grid_cell(x: float, y: float, width: float, height: float) -> str:
    """The 3×3 grid cell name holding point (x, y) of a width × height frame."""
    if width <= 0 or height <= 0:
        raise ValueError("width and height must be > 0")
    col = min(2, max(0, int(3 * x / width)))
    row = min(2, max(0, int(3 * y / height)))
    return GRID[row][col]


def _iou(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> tuple[float, float]:
    """(IoU, intersection / smaller area) of two (x0, y0, x1, y1) boxes."""
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    aa = max(1e-6, (a[2] - a[0]) * (a[3] - a[1]))
    ab = max(1e-6, (b[2] - b[0]) * (b[3] - b[1]))
    return inter / (aa + ab - inter), inter / min(aa, ab)


def _thumb(gray: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    return cv2.resize(gray, size, interpolation=cv2.INTER_AREA).astype(np.float32)


def _alnum(text: str) -> int:
    return sum(ch.isalnum() for ch in text)


# ---------------------------------------------------------------------------
# Tracking
# ---------------------------------------------------------------------------


@dataclass
class _Track:
    key: str  # case-folded text of the first reading
    start_s: float  # estimated appearance time
    last_seen: float  # time of the last sampled frame holding it
    box: tuple[float, float, float, float]  # last box, analysis pixels
    thumb: np.ndarray | None  # last line thumbnail (for reuse)
    last_score: float
    samples: int = 1
    cx_sum: float = 0.0
    cy_sum: float = 0.0
    boxes: int = 0
    variants: dict[str, float] = field(default_factory=dict)
    colours: list[tuple[int, int, int]] = field(default_factory=list)
    heights: list[float] = field(default_factory=list)
    end_s: float | None = None
    absent_since: float | None = None  # first sampled time it was missing (while live)

    def content(self) -> str:
        """The track's text (see the module's ``content`` rule)."""
        return reading(self.variants)


@dataclass
class _Line:
    """A detected line in the analysis frame."""

    quad: np.ndarray  # (4, 2) analysis pixels
    box: tuple[float, float, float, float]  # axis-aligned (x0, y0, x1, y1)
    crop: np.ndarray  # upright BGR crop
    thumb: np.ndarray  # 96×24 grey thumbnail of the crop
    text: str | None = None
    score: float = 0.0


@dataclass(frozen=True)
class TextOverlay:
    """Text that stayed on screen. Times in seconds; ``size_px`` and ``color`` None when the
    glyphs could not be measured; ``centre_y`` = the text's mean centre height as a share of
    the frame (0 top – 1 bottom)."""

    content: str
    position: str  # a cell of :data:`clipzy.engine.terms.POSITIONS`
    size_px: int | None  # text height in display pixels of the source video
    color: str | None  # "#rrggbb"
    start_s: float
    end_s: float
    centre_y: float | None = None


@dataclass(frozen=True)
class TextResult:
    """What :class:`TextAnalyzer` found: overlays in time order, the subtitle verdict (None
    when detection is unavailable) and which detector ran."""

    overlays: list[TextOverlay]
    use_subtitles: bool | None
    detector: str


class TextAnalyzer:
    """FramePump consumer that finds on-screen text (see the module docstring).

    ``every_s``: seconds between sampled frames (> 0; default 0.5 s). ``models``: the
    registry whose execution providers the OCR sessions use (None:
    :meth:`ModelRegistry.from_environ`).
    """

    def __init__(self, info: VideoInfo, *, every_s: float = 0.5, models: ModelRegistry | None = None) -> None:
        if not (isinstance(every_s, (int, float)) and math.isfinite(every_s) and every_s > 0):
            raise ValueError(f"every_s must be a finite number > 0, got {every_s!r}")
        self.info = info
        self.every_s = float(every_s)
        self.frame_size = fit_width(info, min(ANALYSIS_WIDTH, max(2, info.width)))
        self.max_gap_s = 2.0 * self.every_s + 1e-3
        self._ocr = engine(tuple((models or ModelRegistry.from_environ()).providers()))
        self.available = self._ocr is not None
        self.frames_seen = 0
        self.frames_ocr = 0
        self.lines_recognised = 0
        self.lines_reused = 0
        self._prev_t: float | None = None  # previous sampled frame time
        self._last_thumb: np.ndarray | None = None  # thumbnail of the last OCR'd frame
        self._live: list[_Track] = []
        self._done: list[_Track] = []
        self._last_t = 0.0

    # -- FramePump interface ------------------------------------------------

    def push(self, image: np.ndarray, t_s: float) -> None:
        """Take one RGB uint8 frame at time ``t_s`` seconds."""
        self.frames_seen += 1
        self._last_t = float(t_s)
        if not self.available:
            return
        gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
        thumb = _thumb(gray, _THUMB)
        diff = np.abs(thumb - self._last_thumb) if self._last_thumb is not None else None
        if diff is not None and float(diff.mean()) < UNCHANGED_MAD and float(diff.max()) < UNCHANGED_MAX:
            for tr in self._live:  # same picture: whatever was on screen still is
                if tr.absent_since is None:
                    tr.last_seen = float(t_s)
                    tr.samples += 1
            self._prev_t = float(t_s)
            return
        self._last_thumb = thumb
        self._ocr_frame(image, float(t_s))
        self._prev_t = float(t_s)

    def _ocr_frame(self, image: np.ndarray, t: float) -> None:
        """Detect and read the lines of one changed frame, then update the tracks."""
        self.frames_ocr += 1
        lines = self._read_lines(np.ascontiguousarray(image[:, :, ::-1]))
        kept = [ln for ln in lines if ln.text and ln.score >= MIN_SCORE and _alnum(ln.text) >= MIN_ALNUM]
        kept.sort(key=lambda ln: -ln.score)
        matched: set[int] = set()
        for ln in kept:
            self._match(ln, t, matched)
        self._expire(matched, t)

    def _read_lines(self, bgr: np.ndarray) -> list["_Line"]:
        """The detected lines of a BGR frame, each read (or its live track's reading reused)."""
        lines: list[_Line] = []
        for q in detect_lines(bgr, ocr=self._ocr) or []:
            box = (float(q[:, 0].min()), float(q[:, 1].min()), float(q[:, 0].max()), float(q[:, 1].max()))
            crop = crop_line(bgr, q)
            line = _Line(q, box, crop, _thumb(cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY), _LINE_THUMB))
            for tr in self._live:  # unchanged line where a live track was: keep its reading
                if tr.thumb is None or tr.absent_since is not None:
                    continue
                if _iou(box, tr.box)[0] >= REUSE_IOU and float(np.abs(line.thumb - tr.thumb).mean()) < REUSE_MAD:
                    line.text, line.score = tr.content(), tr.last_score
                    self.lines_reused += 1
                    break
            lines.append(line)
        unread = [ln for ln in lines if ln.text is None]
        if unread:
            reads = recognise([ln.crop for ln in unread], ocr=self._ocr) or []
            self.lines_recognised += len(reads)
            for ln, (txt, sc) in zip(unread, reads):
                ln.text, ln.score = txt, sc
        return lines

    def _match(self, ln: "_Line", t: float, matched: set[int]) -> None:
        """Join a kept reading to the best live track not yet ``matched`` in this frame (or
        start a track); adds the track's index to ``matched``."""
        assert ln.text is not None
        key = ln.text.casefold()
        best, best_rank = None, None
        for j, tr in enumerate(self._live):
            if j in matched:
                continue
            overlap = _iou(ln.box, tr.box)[1]
            if overlap < MATCH_OVERLAP:
                continue
            sim = 1.0 if key == tr.key else difflib.SequenceMatcher(None, key, tr.key).ratio()
            if sim < MATCH_SIMILARITY:
                continue
            rank = (sim, overlap)
            if best_rank is None or rank > best_rank:
                best, best_rank = j, rank
        if best is None:
            start = t if self._prev_t is None else 0.5 * (self._prev_t + t)
            tr = _Track(key=key, start_s=start, last_seen=t, box=ln.box, thumb=ln.thumb, last_score=ln.score)
            self._live.append(tr)
            best = len(self._live) - 1
        else:
            tr = self._live[best]
            tr.samples += 1
            tr.last_seen = t
            tr.absent_since = None
            tr.box, tr.thumb, tr.last_score = ln.box, ln.thumb, ln.score
        matched.add(best)
        self._observe(tr, ln)

    def _expire(self, matched: set[int], t: float) -> None:
        """Tracks not seen in this frame: keep them while one missed sample may be bridged, else close."""
        still: list[_Track] = []
        for j, tr in enumerate(self._live):
            if j in matched:
                still.append(tr)
                continue
            if tr.absent_since is None:
                tr.absent_since = t  # first sampled frame without it
            if t - tr.last_seen <= self.max_gap_s:
                still.append(tr)  # may come back (one missed sample is bridged)
            else:
                self._close(tr, t_absent=tr.absent_since)
        self._live = still

    def _observe(self, tr: _Track, ln: "_Line") -> None:
        c = ln.quad.mean(axis=0)
        tr.cx_sum += float(c[0])
        tr.cy_sum += float(c[1])
        tr.boxes += 1
        assert ln.text is not None
        if ln.text in tr.variants or len(tr.variants) < _MAX_VARIANTS:
            tr.variants[ln.text] = tr.variants.get(ln.text, 0.0) + ln.score
        if len(tr.colours) < _MAX_SAMPLES:
            colour, height = glyph_stats(np.ascontiguousarray(ln.crop[:, :, ::-1]))
            if colour is not None:
                tr.colours.append(colour)
            if height is not None:
                tr.heights.append(height)

    def _close(self, tr: _Track, *, t_absent: float | None, video_end_s: float | None = None) -> None:
        if tr.samples < MIN_SAMPLES:
            return  # too brief to report: forget it (keeps memory bounded on noisy OCR)
        if t_absent is None:
            end = video_end_s if video_end_s is not None else self.info.duration_seconds
            tr.end_s = max(tr.last_seen, end or tr.last_seen)
        else:
            tr.end_s = 0.5 * (tr.last_seen + t_absent)
        tr.thumb = None
        self._done.append(tr)

    # -- results -------------------------------------------------------------

    def overlays(self, *, duration_s: float | None = None) -> list[TextOverlay]:
        """The overlays in time order (closes tracks still open, ending at ``duration_s``, default
        the probed duration: call once, at the end)."""
        for tr in self._live:
            self._close(tr, t_absent=tr.absent_since, video_end_s=duration_s)
        self._live = []
        fw, fh = self.frame_size
        scale = self.info.height / float(fh)
        out = []
        for tr in sorted(self._done, key=lambda x: (x.start_s, x.cy_sum / max(1, x.boxes))):
            if tr.samples < MIN_SAMPLES or tr.end_s is None:
                continue
            cx, cy = tr.cx_sum / tr.boxes, tr.cy_sum / tr.boxes
            colour = None
            if tr.colours:
                m = np.median(np.asarray(tr.colours, np.float64), axis=0)
                colour = "#{:02x}{:02x}{:02x}".format(*(int(round(v)) for v in m))
            size = int(round(float(np.median(tr.heights)) * scale)) if tr.heights else None
            out.append(TextOverlay(tr.content(), grid_cell(cx, cy, fw, fh), size, colour, tr.start_s, tr.end_s, cy / fh))
        return out

    def finish(self, shots_s: list[tuple[float, float]] | None = None, *, duration_s: float | None = None) -> TextResult:
        """The overlays and the ``use_subtitles`` verdict; ``shots_s`` in seconds; ``duration_s``:
        how much of the video decoded (default: the probed duration)."""
        if not self.available:
            return TextResult([], None, UNAVAILABLE)
        overlays = self.overlays(duration_s=duration_s)
        dur = (duration_s if duration_s is not None else self.info.duration_seconds) or self._last_t
        shots = [(float(a), float(b)) for a, b in (shots_s or []) if b > a] or [(0.0, max(dur, 1e-3))]
        return TextResult(overlays, subtitles_rule(overlays, shots), DETECTOR)


def subtitles_rule(overlays: list[TextOverlay], shots_s: list[tuple[float, float]]) -> bool:
    """The ``use_subtitles`` rule of the module docstring.

    ``overlays``: bottom-third text is the overlays whose ``centre_y`` is ≥ 2/3 (or, when
    it is None, whose ``position`` is a bottom cell). ``shots_s``: (start_s, end_s) shot
    spans, non-empty.
    """
    if not shots_s:
        raise ValueError("shots_s must hold at least one shot")
    low = [o for o in overlays
           if (o.centre_y >= 2.0 / 3.0 if o.centre_y is not None else o.position.startswith("bottom"))]
    if len({normalise_whitespace(o.content).casefold() for o in low}) < 2:
        return False
    union: list[list[float]] = []
    for a, b in sorted((o.start_s, o.end_s) for o in low):
        if union and a <= union[-1][1]:
            union[-1][1] = max(union[-1][1], b)
        else:
            union.append([a, b])
    captioned = 0
    for s0, s1 in shots_s:
        cover = sum(max(0.0, min(b, s1) - max(a, s0)) for a, b in union)
        if cover >= CAPTION_SHOT_COVER * (s1 - s0):
            captioned += 1
    n = len(shots_s)
    return captioned >= min(2, n) and captioned * 3 >= n
