"""TensorRT fp16 plans with batch optimization profiles (GPU machines with ``tensorrt``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from stashtag_core.errors import ExportError
from stashtag_core.modelspec import ONNX_FILE, PLAN_FILE


def plan_models() -> dict[str, int]:
    """{model: max batch} of the graphs the specs mark for plans (names and batching are the
    same in every preset; shapes come from each ONNX file)."""
    from stashtag_core.modelspec import build_specs
    from stashtag_core.presets import get_preset

    return {s.name: s.batching.max_batch_size for s in build_specs(get_preset("small")) if s.plan}


def _fixed(dims: tuple[int, ...], onnx_path: Path) -> tuple[int, ...]:
    """``dims`` with free image height and width (graphs exported for input-size buckets) set
    to the native size in ``meta.json``: the tensorrt target serves the native square only."""
    if -1 not in dims:
        return dims
    import json

    from stashtag_core.modelspec import META_FILE

    side = json.loads((onnx_path.parent / META_FILE).read_text())["image_size"]
    return tuple(side if d == -1 else d for d in dims)


def tensorrt_available() -> bool:
    try:
        import tensorrt  # noqa: F401
    except ImportError:
        return False
    return True


def build_plans(repo: Path, log: Callable[[str], None] = print, fp16: bool = True) -> list[Path]:
    """Build ``model.plan`` next to each fixed-shape ``model.onnx``."""
    if not tensorrt_available():
        raise ExportError(
            "--target tensorrt needs the `tensorrt` Python package and an NVIDIA GPU; neither "
            "is on this machine. Build the plans inside the NGC export image (docker/) or on a "
            "GPU host with `pip install tensorrt`; the ONNX files are already exported."
        )
    import tensorrt as trt

    logger = trt.Logger(trt.Logger.WARNING)
    plans = []
    for model, max_batch in plan_models().items():
        onnx_path = Path(repo) / model / "1" / ONNX_FILE
        if not onnx_path.is_file():
            continue
        builder = trt.Builder(logger)
        network = builder.create_network(0)
        parser = trt.OnnxParser(network, logger)
        if not parser.parse(onnx_path.read_bytes()):
            errors = [str(parser.get_error(i)) for i in range(parser.num_errors)]
            raise ExportError(f"TensorRT could not parse {onnx_path}: {errors}")
        config = builder.create_builder_config()
        if fp16:
            config.set_flag(trt.BuilderFlag.FP16)
        profile = builder.create_optimization_profile()
        for i in range(network.num_inputs):
            tensor = network.get_input(i)
            rest = _fixed(tuple(tensor.shape)[1:], onnx_path)
            profile.set_shape(
                tensor.name, (1, *rest), (min(32, max_batch), *rest), (max_batch, *rest)
            )
        config.add_optimization_profile(profile)
        serialized = builder.build_serialized_network(network, config)
        if serialized is None:
            raise ExportError(f"TensorRT failed to build a plan for {onnx_path}")
        plan = onnx_path.with_name(PLAN_FILE)
        plan.write_bytes(bytes(serialized))
        log(f"  built {plan} (fp16={fp16}, batch 1..{max_batch})")
        plans.append(plan)
    return plans
