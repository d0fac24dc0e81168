"""How close to the machine's limit the models run: floating-point work per item counted from
each exported graph, and the fp32 matmul peak of ONNX Runtime on this machine.

Only the layers that carry the arithmetic are counted (Conv, ConvTranspose, MatMul, Gemm, and
int8 graphs' MatMulInteger): elementwise ops, norms and softmax are a few percent of a vision
model's work and no matmul peak applies to them. A multiply-add counts as two operations.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np


def graph_flops(model, shapes: dict[str, tuple[int, ...]]) -> int:
    """Operations of one run of ``model`` (a path or an ``onnx.ModelProto``) with its inputs
    at ``shapes`` (every dimension concrete, the batch included).

    The shapes are taken from one run in ONNX Runtime with the counted layers' tensors exposed:
    ONNX's static shape inference gives up on the exported graphs' computed slices and reshapes.
    """
    import onnx

    proto = onnx.load(str(model)) if isinstance(model, str | Path) else model
    dims = _run_shapes(proto, shapes)
    total = 0
    for node in proto.graph.node:
        count = _NODE_FLOPS.get(node.op_type)
        if count is not None:
            total += count(node, dims)
    return total


def _run_shapes(proto, shapes: dict[str, tuple[int, ...]]) -> dict[str, tuple[int, ...]]:
    """The shape of every tensor a counted layer reads or writes, from one run."""
    import onnx
    import onnxruntime as ort

    initializers = {i.name: tuple(i.dims) for i in proto.graph.initializer}
    wanted = {
        name
        for node in proto.graph.node
        if node.op_type in _NODE_FLOPS
        for name in (*node.input[:2], node.output[0])
        if name and name not in initializers
    }
    probe = onnx.ModelProto.FromString(proto.SerializeToString())
    present = {o.name for o in probe.graph.output}
    probe.graph.output.extend(
        onnx.helper.make_empty_tensor_value_info(n) for n in sorted(wanted - present)
    )
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    session = ort.InferenceSession(
        probe.SerializeToString(), opts, providers=["CPUExecutionProvider"]
    )
    feed = {}
    for graph_input in session.get_inputs():
        if graph_input.name not in shapes:
            raise ValueError(f"no shape given for the graph input {graph_input.name!r}")
        dtype = _NUMPY_TYPES.get(graph_input.type, np.float32)
        feed[graph_input.name] = np.zeros(shapes[graph_input.name], dtype)
    names = [o.name for o in session.get_outputs()]
    found = dict(zip(names, (np.shape(v) for v in session.run(names, feed)), strict=True))
    return {**initializers, **{k: tuple(int(d) for d in v) for k, v in found.items()}}


_NUMPY_TYPES = {
    "tensor(uint8)": np.uint8,
    "tensor(float)": np.float32,
    "tensor(int64)": np.int64,
    "tensor(int32)": np.int32,
}


def _shape(dims: dict, name: str, node) -> tuple[int, ...]:
    if name not in dims:
        raise ValueError(
            f"{node.op_type} {node.name or node.output[0]!r}: shape of {name!r} unknown"
        )
    return dims[name]


def _conv(node, dims) -> int:
    weight = _shape(dims, node.input[1], node)  # (out, in / groups, *kernel)
    out = _shape(dims, node.output[0], node)  # (N, out, *spatial)
    return 2 * math.prod(out) * math.prod(weight[1:])


def _conv_transpose(node, dims) -> int:
    weight = _shape(dims, node.input[1], node)  # (in, out / groups, *kernel)
    x = _shape(dims, node.input[0], node)  # (N, in, *spatial)
    return 2 * math.prod(x) * math.prod(weight[1:])


def _matmul(node, dims) -> int:
    a = _shape(dims, node.input[0], node)
    out = _shape(dims, node.output[0], node)
    return 2 * math.prod(out) * a[-1]


def _gemm(node, dims) -> int:
    a = _shape(dims, node.input[0], node)
    trans_a = next((x.i for x in node.attribute if x.name == "transA"), 0)
    out = _shape(dims, node.output[0], node)
    return 2 * math.prod(out) * (a[0] if trans_a else a[1])


_NODE_FLOPS = {
    "Conv": _conv,
    "ConvTranspose": _conv_transpose,
    "MatMul": _matmul,
    "MatMulInteger": _matmul,  # an int8 graph's (--int8): still a multiply-add each
    "Gemm": _gemm,
}


def matmul_peak_gflops(size: int = 1024, runs: int = 5, threads: int = 0) -> float:
    """The best fp32 GFLOP/s of a ``size``² matmul in ONNX Runtime with ``threads`` intra-op
    threads (0: its default, as the server's sessions run)."""
    import onnxruntime as ort
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("MatMul", ["a", "b"], ["c"])],
        "peak",
        [
            helper.make_tensor_value_info("a", TensorProto.FLOAT, [size, size]),
            helper.make_tensor_value_info("b", TensorProto.FLOAT, [size, size]),
        ],
        [helper.make_tensor_value_info("c", TensorProto.FLOAT, [size, size])],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    session = ort.InferenceSession(
        model.SerializeToString(), opts, providers=["CPUExecutionProvider"]
    )
    rng = np.random.default_rng(0)
    feed = {n: rng.standard_normal((size, size), dtype=np.float32) for n in ("a", "b")}
    session.run(None, feed)  # warm-up
    best = math.inf
    for _ in range(runs):
        start = time.perf_counter()
        session.run(None, feed)
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best / 1e9


def cuda_matmul_peak_gflops(size: int = 8192, runs: int = 5) -> float:
    """The best fp32 GFLOP/s of a ``size``² matmul on GPU 0 in PyTorch, TF32 off (the plain
    fp32 rate; a GPU report compares each model with it)."""
    import torch

    torch.backends.cuda.matmul.allow_tf32 = False
    a = torch.randn(size, size, device="cuda")
    b = torch.randn(size, size, device="cuda")
    torch.matmul(a, b)
    torch.cuda.synchronize()
    best = math.inf
    for _ in range(runs):
        start = time.perf_counter()
        torch.matmul(a, b)
        torch.cuda.synchronize()
        best = min(best, time.perf_counter() - start)
    return 2 * size**3 / best / 1e9
