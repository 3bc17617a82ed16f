"""The global colour transform of an apply job: a 33³ 3D LUT from colour statistics.

The LUT maps the footage's colour distribution onto the template's, both described by
Style DNA ``color_profile`` objects (CIELAB, D65, sRGB gamma as OpenCV's float
``COLOR_RGB2Lab``: L* 0..100, a*/b* about −128..127):

* **a*, b* (and their correlation with L*)**: the Monge–Kantorovich linear transfer
  between the two Gaussians N(μs, Σs) → N(μt, Σt) of ``lab_mean``/``lab_cov``:
  ``x' = μt + T (x − μs)`` with ``T = Σs^-½ (Σs^½ Σt Σs^½)^½ Σs^-½`` (the optimal-transport
  map between Gaussians; Pitié & Kokaram 2007).
* **L***: a monotone tone curve that maps the footage's ``luma_percentiles``
  (p1, p5, p25, p50, p75, p95, p99) onto the template's (piecewise linear, slopes clipped
  to 0.25..4 so noise in the statistics cannot invert or explode the curve; linear
  extension beyond p1/p99 with the end slopes, clamped to 0..100).

The transform is sampled on a 33×33×33 sRGB grid, converted back to sRGB (out-of-gamut
values clipped to 0..1) and blended with the identity by ``strength`` (0 → exactly the
identity grid, 1 → the full transfer). ``write_cube``/``read_cube`` handle the standard
Adobe/Resolve ``.cube`` text (``LUT_3D_SIZE 33``, red index fastest). ``LutFilter`` applies
a LUT to frames in C through libavfilter's ``lut3d`` (tetrahedral interpolation).

LUT arrays here have shape (N, N, N, 3), float32, indexed ``lut[r, g, b]`` → output
(R, G, B) in 0..1.
"""
from __future__ import annotations

import os
from fractions import Fraction
from typing import Any, Mapping, Sequence

import av
import av.filter
import cv2
import numpy as np

from ..colorspace import lab_to_rgb, unit_rgb_to_lab
from ..files import atomic_path

SIZE = 33
PERCENTILES = (1, 5, 25, 50, 75, 95, 99)  # the luma_percentiles of color_profile, in order
_MIN_SLOPE, _MAX_SLOPE = 0.25, 4.0


def identity(size: int = SIZE) -> np.ndarray:
    """The identity LUT, shape (size, size, size, 3), float32, ``lut[r, g, b] = (r, g, b)/(size−1)``."""
    if size < 2:
        raise ValueError(f"size must be >= 2, got {size}")
    v = np.linspace(0.0, 1.0, size, dtype=np.float32)
    r, g, b = np.meshgrid(v, v, v, indexing="ij")
    return np.stack([r, g, b], axis=-1)


def _sqrtm_psd(m: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eigh((m + m.T) / 2.0)
    return (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T


def gaussian_transfer(src_mean: Sequence[float], src_cov: np.ndarray, dst_mean: Sequence[float], dst_cov: np.ndarray, *, eps: float = 1e-3) -> tuple[np.ndarray, np.ndarray]:
    """Monge–Kantorovich linear map between two Gaussians: returns (T 3×3, offset 3) with
    ``x' = T @ x + offset``. ``eps`` (Lab units²) regularises near-singular covariances
    (e.g. grey footage with zero chroma variance)."""
    ms, mt = np.asarray(src_mean, float), np.asarray(dst_mean, float)
    cs, ct = np.asarray(src_cov, float), np.asarray(dst_cov, float)
    if ms.shape != (3,) or mt.shape != (3,) or cs.shape != (3, 3) or ct.shape != (3, 3):
        raise ValueError("gaussian_transfer needs 3-vectors and 3×3 covariances")
    cs = cs + eps * np.eye(3)
    ct = ct + eps * np.eye(3)
    s_half = _sqrtm_psd(cs)
    w, v = np.linalg.eigh(s_half)
    s_half_inv = (v / np.clip(w, 1e-9, None)) @ v.T
    t = s_half_inv @ _sqrtm_psd(s_half @ ct @ s_half) @ s_half_inv
    return t, mt - t @ ms


def tone_curve(src_pct: Sequence[float], dst_pct: Sequence[float]) -> tuple[np.ndarray, np.ndarray]:
    """Knots (x, y) of the monotone L* curve mapping percentiles ``src_pct`` → ``dst_pct``.

    Slopes are clipped to 0.25..4; the curve is extended linearly to L* 0 and 100 with the
    end slopes. Evaluate with ``np.interp(L, x, y)``.
    """
    xs = np.asarray(src_pct, float)
    ys = np.asarray(dst_pct, float)
    if xs.shape != ys.shape or xs.ndim != 1 or xs.size < 2:
        raise ValueError("tone_curve needs two equal-length percentile lists (>= 2 values)")
    order = np.argsort(xs, kind="stable")
    xs, ys = np.maximum.accumulate(xs[order]), np.maximum.accumulate(np.sort(ys))
    # merge knots closer than 0.5 L*
    keep = np.concatenate([[True], np.diff(xs) > 0.5])
    xs, ys = xs[keep], ys[keep]
    if xs.size < 2:  # degenerate (flat) source: a pure shift
        d = float(np.median(ys) - xs[0])
        return np.array([0.0, 100.0]), np.clip(np.array([0.0, 100.0]) + d, 0, 100)
    slopes = np.clip(np.diff(ys) / np.diff(xs), _MIN_SLOPE, _MAX_SLOPE)
    # rebuild ys from the median knot so clipped slopes keep the curve anchored mid-range
    mid = xs.size // 2
    y = np.empty_like(xs)
    y[mid] = ys[mid]
    for i in range(mid + 1, xs.size):  # a handful of knots, not pixels
        y[i] = y[i - 1] + slopes[i - 1] * (xs[i] - xs[i - 1])
    for i in range(mid - 1, -1, -1):
        y[i] = y[i + 1] - slopes[i] * (xs[i + 1] - xs[i])
    x0, x1 = 0.0, 100.0
    y0 = y[0] - slopes[0] * (xs[0] - x0)
    y1 = y[-1] + slopes[-1] * (x1 - xs[-1])
    kx = np.concatenate([[x0], xs, [x1]]) if xs[0] > x0 and xs[-1] < x1 else xs
    ky = np.concatenate([[y0], y, [y1]]) if xs[0] > x0 and xs[-1] < x1 else y
    return kx, np.clip(ky, 0.0, 100.0)


def _profile_arrays(p: Mapping[str, Any]) -> tuple[np.ndarray, np.ndarray, np.ndarray | None] | None:
    try:
        mean = np.asarray(p["lab_mean"], float)
        cov = np.asarray(p["lab_cov"], float)
    except (KeyError, TypeError, ValueError):
        return None
    if mean.shape != (3,) or cov.shape != (3, 3) or not (np.all(np.isfinite(mean)) and np.all(np.isfinite(cov))):
        return None
    pct = p.get("luma_percentiles")
    pa: np.ndarray | None = None
    if pct is not None:
        if isinstance(pct, Mapping):  # {"p1": .., "p5": ..} or {"1": ..}
            vals = []
            for q in PERCENTILES:
                v = pct.get(f"p{q}", pct.get(str(q)))
                vals.append(v)
            pct = vals
        try:
            pa = np.asarray(pct, float)
            if pa.shape != (len(PERCENTILES),) or not np.all(np.isfinite(pa)):
                pa = None
        except (TypeError, ValueError):
            pa = None
    return mean, cov, pa


def build_lut(footage_profile: Mapping[str, Any] | None, template_profile: Mapping[str, Any] | None, *, strength: float = 1.0, size: int = SIZE) -> np.ndarray:
    """The LUT moving the footage's colour statistics onto the template's.

    ``footage_profile``/``template_profile`` are Style DNA ``color_profile`` objects (need
    ``lab_mean``, ``lab_cov``; ``luma_percentiles`` enables the tone curve, otherwise L* comes
    from the linear transfer too). ``strength`` 0..1 blends with the identity (0 → identity
    exactly). Either profile missing → the identity (nothing to match).
    """
    if not 0.0 <= float(strength) <= 1.0:
        raise ValueError(f"strength must be within 0..1, got {strength}")
    ident = identity(size)
    if strength == 0.0 or footage_profile is None or template_profile is None:
        return ident
    src = _profile_arrays(footage_profile)
    dst = _profile_arrays(template_profile)
    if src is None or dst is None:
        return ident
    (ms, cs, ps), (mt, ct, pt) = src, dst
    t, off = gaussian_transfer(ms, cs, mt, ct)
    lab = unit_rgb_to_lab(ident).reshape(-1, 3).astype(np.float64)
    out = lab @ t.T + off
    if ps is not None and pt is not None:
        kx, ky = tone_curve(ps, pt)
        out[:, 0] = np.interp(lab[:, 0], kx, ky)
    out[:, 0] = np.clip(out[:, 0], 0.0, 100.0)
    rgb = lab_to_rgb(out.astype(np.float32)).reshape(ident.shape)
    s = np.float32(strength)
    return (ident * (1 - s) + rgb * s).astype(np.float32)


def apply_lut_numpy(rgb: np.ndarray, lut: np.ndarray) -> np.ndarray:
    """Apply ``lut`` to uint8 RGB (..., 3) with trilinear interpolation in numpy (vectorised).

    A reference for tests and for small arrays; frames are graded in C by :class:`LutFilter`.
    """
    n = lut.shape[0]
    x = np.asarray(rgb, np.float32) / 255.0 * (n - 1)
    i0 = np.clip(np.floor(x).astype(np.int32), 0, n - 2)
    f = x - i0
    out = np.zeros(x.shape, np.float32)
    for dr in (0, 1):
        wr = f[..., 0] if dr else 1 - f[..., 0]
        for dg in (0, 1):
            wg = f[..., 1] if dg else 1 - f[..., 1]
            for db in (0, 1):
                wb = f[..., 2] if db else 1 - f[..., 2]
                out += (wr * wg * wb)[..., None] * lut[i0[..., 0] + dr, i0[..., 1] + dg, i0[..., 2] + db]
    return np.clip(np.rint(out * 255.0), 0, 255).astype(np.uint8)


def is_identity(lut: np.ndarray, *, tol: float = 0.5 / 255) -> bool:
    """True when ``lut`` changes no 8-bit value by more than half a code value."""
    return bool(np.max(np.abs(lut - identity(lut.shape[0]))) <= tol)


# ---------------------------------------------------------------------------
# .cube files
# ---------------------------------------------------------------------------


def write_cube(path: str | os.PathLike[str], lut: np.ndarray, *, title: str = "clipzy global grade") -> str:
    """Write ``lut`` (N, N, N, 3) as a standard .cube file (red index fastest); returns the path.

    Written to a temporary file beside the target and renamed, so readers never see half a file.
    """
    lut = np.asarray(lut, np.float32)
    if lut.ndim != 4 or lut.shape[3] != 3 or not (lut.shape[0] == lut.shape[1] == lut.shape[2]) or lut.shape[0] < 2:
        raise ValueError(f"lut must have shape (N, N, N, 3), got {lut.shape}")
    n = lut.shape[0]
    rows = np.clip(lut, 0.0, 1.0).transpose(2, 1, 0, 3).reshape(-1, 3)  # b slowest, r fastest
    path = os.fspath(path)
    body = "\n".join(f"{r:.6f} {g:.6f} {b:.6f}" for r, g, b in rows.tolist())
    with atomic_path(path) as tmp, open(tmp, "w", encoding="ascii") as fh:
        fh.write(f'TITLE "{title}"\nLUT_3D_SIZE {n}\nDOMAIN_MIN 0.0 0.0 0.0\nDOMAIN_MAX 1.0 1.0 1.0\n')
        fh.write(body)
        fh.write("\n")
    return path


def read_cube(path: str | os.PathLike[str]) -> np.ndarray:
    """Read a 3D .cube file → (N, N, N, 3) float32 indexed ``[r, g, b]``. Domain 0..1 only."""
    n = None
    vals: list[str] = []
    with open(os.fspath(path), encoding="ascii", errors="replace") as fh:
        for line in fh:
            s = line.strip()
            if not s or s.startswith("#"):
                continue
            head = s.split()[0].upper()
            if head == "LUT_3D_SIZE":
                n = int(s.split()[1])
            elif head in ("TITLE", "DOMAIN_MIN", "DOMAIN_MAX", "LUT_1D_SIZE", "LUT_3D_INPUT_RANGE"):
                if head == "LUT_1D_SIZE":
                    raise ValueError("1D .cube files are not supported")
                continue
            else:
                vals.append(s)
    if n is None:
        raise ValueError("not a 3D .cube file (no LUT_3D_SIZE)")
    arr = np.array(" ".join(vals).split(), dtype=np.float32)
    if arr.size != n ** 3 * 3:
        raise ValueError(f".cube file has {arr.size // 3} entries, expected {n ** 3}")
    return arr.reshape(n, n, n, 3).transpose(2, 1, 0, 3).copy()


# ---------------------------------------------------------------------------
# Applying a LUT in C (libavfilter lut3d)
# ---------------------------------------------------------------------------


def _escape_filter_path(path: str) -> str:
    # libavfilter option values: escape the characters that the graph parser treats specially
    return path.replace("\\", "\\\\").replace(":", "\\:").replace("'", "\\'")


class LutFilter:
    """Grade RGB frames with a .cube file through libavfilter's ``lut3d`` (tetrahedral, C).

    ``LutFilter(cube_path, width, height)``; ``apply(rgb uint8 (h, w, 3)) -> uint8 (h, w, 3)``.
    The graph is built once for the frame size; frames of another size raise ValueError.
    """

    def __init__(self, cube_path: str | os.PathLike[str], width: int, height: int, *, interp: str = "tetrahedral") -> None:
        if width < 2 or height < 2:
            raise ValueError(f"frame size must be at least 2x2, got {width}x{height}")
        if interp not in ("nearest", "trilinear", "tetrahedral", "pyramid", "prism"):
            raise ValueError(f"unknown lut3d interpolation {interp!r}")
        self.width, self.height = int(width), int(height)
        self.graph = av.filter.Graph()
        src = self.graph.add_buffer(width=self.width, height=self.height, format="rgb24", time_base="1/1000")
        lut = self.graph.add("lut3d", f"file={_escape_filter_path(os.fspath(cube_path))}:interp={interp}")
        sink = self.graph.add("buffersink")
        src.link_to(lut)
        lut.link_to(sink)
        self.graph.configure()
        self._pts = 0

    def apply(self, rgb: np.ndarray) -> np.ndarray:
        """Graded copy of ``rgb`` (uint8, (height, width, 3))."""
        if rgb.shape != (self.height, self.width, 3):
            raise ValueError(f"frame shape {rgb.shape} does not match the filter's {(self.height, self.width, 3)}")
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(rgb, dtype=np.uint8), format="rgb24")
        frame.pts = self._pts
        frame.time_base = Fraction(1, 1000)
        self._pts += 40
        self.graph.vpush(frame)
        out = self.graph.vpull()
        return out.to_ndarray(format="rgb24")


class BakedLut:
    """A LUT baked once through libavfilter's ``lut3d`` for every one of the 2²⁴ 8-bit colours,
    then applied to frames as one table gather (numpy, C): about 2–3× faster than running
    lut3d per 1080p frame, and bit-identical to it.

    ``BakedLut(cube_path)``; ``apply(rgb uint8 (h, w, 3)) -> uint8 (h, w, 4)`` RGBA (A = 255),
    ready for ``av.VideoFrame.from_ndarray(..., format="rgba")``. Holds a 64 MiB table.
    """

    CHUNK_ROWS = 256  # bake 4096×256 pixels at a time (3 MiB per chunk)

    def __init__(self, cube_path: str | os.PathLike[str], *, interp: str = "tetrahedral") -> None:
        flt = LutFilter(cube_path, 4096, self.CHUNK_ROWS, interp=interp)
        table = np.empty(1 << 24, np.uint32)
        step = 4096 * self.CHUNK_ROWS
        for start in range(0, 1 << 24, step):  # 64 chunks of a million colours, not pixels
            i = np.arange(start, start + step, dtype=np.uint32)
            rgb = np.empty((self.CHUNK_ROWS, 4096, 3), np.uint8)
            rgb[..., 0] = (i >> 16).reshape(self.CHUNK_ROWS, 4096)
            rgb[..., 1] = ((i >> 8) & 255).reshape(self.CHUNK_ROWS, 4096)
            rgb[..., 2] = (i & 255).reshape(self.CHUNK_ROWS, 4096)
            out = flt.apply(rgb).reshape(-1, 3).astype(np.uint32)
            # little-endian bytes R, G, B, A=255 → an "rgba" pixel when viewed as uint8
            table[start: start + step] = out[:, 0] | (out[:, 1] << 8) | (out[:, 2] << 16) | np.uint32(0xFF000000)
        self.table = table

    def apply(self, rgb: np.ndarray) -> np.ndarray:
        """Graded RGBA copy of uint8 RGB ``rgb`` (h, w, 3)."""
        if rgb.ndim != 3 or rgb.shape[2] != 3 or rgb.dtype != np.uint8:
            raise ValueError(f"expected uint8 (h, w, 3), got {rgb.dtype} {rgb.shape}")
        h, w = rgb.shape[:2]
        # BGRA bytes B, G, R, A read as little-endian uint32 = A<<24 | R<<16 | G<<8 | B
        idx = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2BGRA).view(np.uint32).reshape(h, w)
        np.bitwise_and(idx, np.uint32(0xFFFFFF), out=idx)
        return np.take(self.table, idx).view(np.uint8).reshape(h, w, 4)
