"""Operations counted from ONNX graphs against hand counts and a published figure."""

import numpy as np
import pytest
from onnx import TensorProto, helper, numpy_helper

from stashtag.bench.flops import graph_flops, matmul_peak_gflops


def _model(nodes, inputs, outputs, weights=()):
    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in inputs],
        [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in outputs],
        [numpy_helper.from_array(np.ones(s, np.float32), n) for n, s in weights],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model


def test_conv_matmul_gemm_counted_by_hand():
    model = _model(
        [
            # (1,3,8,8) * (4,3,3,3), stride 2, pad 1 → (1,4,4,4): 2·64·27 multiply-adds
            helper.make_node("Conv", ["x", "w"], ["c"], strides=[2, 2], pads=[1, 1, 1, 1]),
            helper.make_node("Reshape", ["c", "shape"], ["flat"]),  # (1, 64)
            helper.make_node("MatMul", ["flat", "m"], ["y"]),  # (1,64)·(64,10)
            helper.make_node("Gemm", ["y", "g"], ["z"], transB=1),  # (1,10)·(5,10)ᵀ
            # attention-like: two activations, batched (2,3,6)·(2,6,4)
            helper.make_node("MatMul", ["a", "b"], ["ab"]),
        ],
        [("x", [None, 3, 8, 8]), ("a", [2, 3, 6]), ("b", [2, 6, 4])],
        ["z", "ab"],
        [("w", (4, 3, 3, 3)), ("m", (64, 10)), ("g", (5, 10))],
    )
    model.graph.initializer.append(numpy_helper.from_array(np.array([-1, 64], np.int64), "shape"))
    shapes = {"x": (1, 3, 8, 8), "a": (2, 3, 6), "b": (2, 6, 4)}
    expected = 2 * (4 * 4 * 4 * 27 + 64 * 10 + 10 * 5 + 2 * 3 * 4 * 6)
    assert graph_flops(model, shapes) == expected
    # three frames: three times the per-frame layers' work, the same attention-like product
    batched = graph_flops(model, {**shapes, "x": (3, 3, 8, 8)})
    assert batched == 3 * (expected - 2 * 2 * 3 * 4 * 6) + 2 * 2 * 3 * 4 * 6


def test_yolov8n_at_640_is_its_published_8_7_gflops(tiny_repo):
    """The tiny preset's detector is YOLOv8n; ultralytics lists it at 8.7 GFLOPs (640²)."""
    flops = graph_flops(tiny_repo / "yolo" / "1" / "model.onnx", {"image": (1, 3, 640, 640)})
    assert flops / 1e9 == pytest.approx(8.7, abs=0.1)


def test_a_missing_input_shape_is_named():
    model = _model(
        [helper.make_node("MatMul", ["a", "b"], ["c"])], [("a", [2, 2]), ("b", [2, 2])], ["c"]
    )
    with pytest.raises(ValueError, match="no shape given for the graph input 'b'"):
        graph_flops(model, {"a": (2, 2)})


def test_matmul_peak_is_a_rate():
    assert matmul_peak_gflops(size=256, runs=2) > 0.1
