"""ONNX Runtime sessions: CUDA when onnxruntime-gpu and a GPU are there, else CPU."""

from __future__ import annotations

from pathlib import Path


def providers(device: str = "auto", device_id: int = 0) -> list:
    """CUDA (on GPU ``device_id``) when onnxruntime-gpu sees one and ``device`` allows it."""
    import onnxruntime as ort

    available = ort.get_available_providers()
    if device.lower() != "cpu" and "CUDAExecutionProvider" in available:
        return [("CUDAExecutionProvider", {"device_id": device_id}), "CPUExecutionProvider"]
    return ["CPUExecutionProvider"]


def make_session(path: str | Path, threads: int = 0, device: str = "auto", device_id: int = 0):
    """An ``InferenceSession`` for ``path``; a missing file names what to run to create it."""
    import onnxruntime as ort

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: run `stashtag repo build` to export it")
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    # No CPU arena: it keeps the peak batch's buffers forever, so a long-running shared server's
    # memory would ratchet up with every new largest batch; large buffers come from mmap anyway.
    opts.enable_cpu_mem_arena = False
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(
        str(path), sess_options=opts, providers=providers(device, device_id)
    )
