"""Helpers shared by the python-backend models: config parameters, tensors, error responses."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

import numpy as np
import triton_python_backend_utils as pb_utils

from stashtag_core.errors import InputError
from stashtag_core.modelspec.param_codec import Params

P = TypeVar("P", bound=Params)


class ModelArgs:
    """The parsed ``args`` Triton passes to ``initialize``."""

    def __init__(self, args: dict) -> None:
        self.config = json.loads(args["model_config"])
        self.name: str = self.config["name"]
        self.version_dir = Path(args["model_repository"]) / args["model_version"]
        self.params = {k: v["string_value"] for k, v in self.config.get("parameters", {}).items()}
        self.inputs = [t["name"] for t in self.config["input"]]
        self.outputs = [t["name"] for t in self.config["output"]]
        self.output_dtypes = {
            t["name"]: pb_utils.triton_string_to_numpy(t["data_type"])
            for t in self.config["output"]
        }

    def read(self, cls: type[P]) -> P:
        """This model's parameters as ``cls`` (the class its spec wrote them with)."""
        return cls.decode(self.params, self.name)


def get_input(request, name: str) -> np.ndarray:
    tensor = pb_utils.get_input_tensor_by_name(request, name)
    if tensor is None:
        raise InputError(f"missing input tensor {name!r}")
    return tensor.as_numpy()


def encoded_bytes(request, name: str = "jpeg") -> bytes:
    """An encoded image sent as a 1-D uint8 tensor."""
    return get_input(request, name).tobytes()


def respond(outputs: dict[str, np.ndarray]):
    return pb_utils.InferenceResponse(
        output_tensors=[pb_utils.Tensor(k, np.ascontiguousarray(v)) for k, v in outputs.items()]
    )


def error_response(model: str, exc: Exception):
    """A request's error: INVALID_ARGUMENT for what the caller sent (bad image, rectangles,
    limits: InputError and other ValueErrors), INTERNAL with the exception's type otherwise."""
    if isinstance(exc, ValueError):
        code = getattr(pb_utils.TritonError, "INVALID_ARG", None)
        message = f"{model}: {exc}"
    else:
        code = getattr(pb_utils.TritonError, "INTERNAL", None)
        message = f"{model}: {type(exc).__name__}: {exc}"
    error = pb_utils.TritonError(message) if code is None else pb_utils.TritonError(message, code)
    return pb_utils.InferenceResponse(error=error)


def per_request(model: str, requests: Sequence, handle: Callable) -> list:
    """Exactly one response per request; a bad request gets its own error, the others go on."""
    responses = []
    for request in requests:
        try:
            responses.append(respond(handle(request)))
        except Exception as exc:
            responses.append(error_response(model, exc))
    return responses


def run_batched(
    model: str, requests: Sequence, inputs: list[str], fn: Callable[..., dict[str, np.ndarray]]
) -> list:
    """Stack every request's inputs into one batch, call ``fn`` once, split outputs back.

    Requests whose shapes differ from the first are run on their own (the dynamic batcher only
    merges equal shapes, but a direct caller may not).
    """
    arrays = [[get_input(r, name) for name in inputs] for r in requests]
    groups: dict[tuple, list[int]] = {}
    for i, arrs in enumerate(arrays):
        groups.setdefault(tuple(a.shape[1:] for a in arrs), []).append(i)
    responses: list = [None] * len(requests)
    for members in groups.values():
        sizes = [arrays[i][0].shape[0] for i in members]
        stacked = [np.concatenate([arrays[i][k] for i in members]) for k in range(len(inputs))]
        try:
            outputs = fn(*stacked)
        except Exception as exc:
            for i in members:
                responses[i] = error_response(model, exc)
            continue
        bounds = np.cumsum([0, *sizes])
        for i, lo, hi in zip(members, bounds[:-1], bounds[1:], strict=True):
            responses[i] = respond({k: v[lo:hi] for k, v in outputs.items()})
    return responses


def bls(model: str, inputs: dict[str, np.ndarray], outputs: list[str]) -> dict[str, np.ndarray]:
    """Call another model of this server (business logic scripting) and return its outputs."""
    request = pb_utils.InferenceRequest(
        model_name=model,
        requested_output_names=outputs,
        inputs=[pb_utils.Tensor(k, np.ascontiguousarray(v)) for k, v in inputs.items()],
    )
    response = request.exec()
    if response.has_error():
        raise RuntimeError(f"{model}: {response.error().message()}")
    return {name: pb_utils.get_output_tensor_by_name(response, name).as_numpy() for name in outputs}
