"""The vocabulary of model descriptions: tensors, batching, ensemble steps, model specs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from stashtag_core.modelspec.contract import frame_list

Target = Literal["python-ort", "python-torch", "onnxruntime", "tensorrt"]
TARGETS: tuple[str, ...] = ("python-ort", "python-torch", "onnxruntime", "tensorrt")
# Targets served by the python backend alone (the pip Triton has no other backend).
PYTHON_TARGETS = ("python-ort", "python-torch")


@dataclass(frozen=True)
class Tensor:
    """One input or output. ``dims`` exclude the batch axis of batching models."""

    name: str
    dtype: Literal["UINT8", "INT32", "INT64", "FP32", "STRING"]
    dims: tuple[int, ...]
    optional: bool = False  # an input a request may leave out


@dataclass(frozen=True)
class Batching:
    """Dynamic batching settings of one batching model."""

    max_batch_size: int
    preferred: tuple[int, ...] = ()
    max_queue_delay_us: int = 2000
    dynamic: bool = True  # False: each request runs alone (the benchmark's baseline)
    # Queues with this many priority levels (0: one FIFO queue); see stashtag_core.protocol.
    priority_levels: int = 0


@dataclass(frozen=True)
class Step:
    """One ensemble step: a model, {its input: ensemble tensor}, {its output: ensemble tensor}."""

    model: str
    inputs: dict[str, str]
    outputs: dict[str, str]


@dataclass(frozen=True)
class ModelSpec:
    """Everything needed to write a model's config and serve it."""

    name: str
    # onnx: an exported graph (python-ort wraps it in a python model); python: a stashtag module;
    # ensemble: a pipeline of other models.
    kind: Literal["onnx", "python", "ensemble"]
    inputs: tuple[Tensor, ...]
    outputs: tuple[Tensor, ...]
    batching: Batching | None = None
    instances: int = 1
    parameters: dict[str, str] = field(default_factory=dict)
    module: str = ""  # python kind: module that defines TritonPythonModel
    steps: tuple[Step, ...] = ()
    calls: tuple[str, ...] = ()  # models this one calls through BLS
    # onnx kind: fixed non-batch shape, so the tensorrt target builds a plan for it and the
    # python-torch target runs its TorchScript; graphs with dynamic image sizes (PP-OCR) stay
    # on ONNX Runtime there.
    plan: bool = False
    # GPUs the instances run on (repo build --gpus); () = the target's default placement.
    gpus: tuple[int, ...] = ()
    description: str = ""
    frame_model: bool = False  # sees every frame of a tagger request (batching tuned as one)

    def input(self, name: str) -> Tensor:
        return _find(self.inputs, name, self.name)

    def output(self, name: str) -> Tensor:
        return _find(self.outputs, name, self.name)


def _find(tensors: tuple[Tensor, ...], name: str, model: str) -> Tensor:
    for t in tensors:
        if t.name == name:
            return t
    raise KeyError(f"model {model!r} has no tensor {name!r}")


def frame_list_tensor(model: str) -> Tensor:
    """The optional input listing the frames ``model`` must see (per-model frame budgets)."""
    return Tensor(frame_list(model), "INT32", (-1,), optional=True)


def image_tensor(size: int) -> Tensor:
    # uint8 NCHW: normalisation is baked into each exported graph, so frames cross process
    # boundaries at a quarter of the float size.
    return Tensor("image", "UINT8", (3, size, size))
