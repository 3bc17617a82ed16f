"""The models registry's provider probe: its serialised graph and what it tells."""
from __future__ import annotations

import numpy as np
import onnxruntime as ort
from onnx import TensorProto, helper

from clipzy.engine import models


def test_probe_graph_is_what_onnx_helper_builds_and_runs():
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])
    graph = helper.make_graph([helper.make_node("Relu", ["x"], ["y"])], "probe", [x], [y])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    assert model.SerializeToString() == models.PROBE_GRAPH
    sess = ort.InferenceSession(models.PROBE_GRAPH, providers=["CPUExecutionProvider"])
    (out,) = sess.run(None, {"x": np.array([-1.5], np.float32)})
    assert out.tolist() == [0.0]
    (out,) = sess.run(None, {"x": np.array([2.0], np.float32)})
    assert out.tolist() == [2.0]


def test_probe_tells_a_provider_that_runs_from_one_that_does_not():
    assert models._really_runs_on(ort, "CPUExecutionProvider") is True
    assert models._really_runs_on(ort, "NoSuchExecutionProvider") is False
