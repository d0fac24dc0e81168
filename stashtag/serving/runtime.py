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
    # One CPU arena per process that grows by exactly what is asked: ORT's default (per session,
    # doubling) kept ratcheting a long-running server's memory up as batch sizes varied; this
    # stays flat at the same speed (no arena at all was ~40 % slower on CPU).
    _register_cpu_arena(ort)
    opts.add_session_config_entry("session.use_env_allocators", "1")
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    return ort.InferenceSession(
        str(path), sess_options=opts, providers=providers(device, device_id)
    )


_ARENA_REGISTERED = False


def _register_cpu_arena(ort) -> None:
    global _ARENA_REGISTERED
    if _ARENA_REGISTERED:
        return
    same_as_requested = 1  # arena_extend_strategy
    cfg = ort.OrtArenaCfg(0, same_as_requested, -1, -1)
    info = ort.OrtMemoryInfo(
        "Cpu", ort.OrtAllocatorType.ORT_ARENA_ALLOCATOR, 0, ort.OrtMemType.DEFAULT
    )
    ort.create_and_register_allocator(info, cfg)
    _ARENA_REGISTERED = True
