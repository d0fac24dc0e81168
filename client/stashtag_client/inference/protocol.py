"""Triton's gRPC protocol (KServe v2, package ``inference``): the messages this client sends.

Built at import from a table of fields, not from generated code or ``tritonclient``:
tritonclient needs ``ml-dtypes``, which has no musllinux wheel (Stash's Docker image is Alpine),
and generated code pins the protobuf runtime it was generated for. The field numbers are
Triton's (``grpc_service.proto``); a test compares them with tritonclient's generated
descriptors, and every Triton test in the suite talks through them.
"""

from __future__ import annotations

import numpy as np
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

_F = descriptor_pb2.FieldDescriptorProto
_TYPES = {
    "string": _F.TYPE_STRING,
    "bytes": _F.TYPE_BYTES,
    "bool": _F.TYPE_BOOL,
    "int64": _F.TYPE_INT64,
    "uint64": _F.TYPE_UINT64,
    "double": _F.TYPE_DOUBLE,
}
PARAMS = "map<InferParameter>"  # map<string, InferParameter>

# message → fields (name, number, type); "repeated " prefixes lists, other names are messages.
# Maps are written as Triton's proto writes them; ``oneof`` groups InferParameter's choices.
MESSAGES: dict[str, list[tuple[str, int, str]]] = {
    "ServerReadyRequest": [],
    "ServerReadyResponse": [("ready", 1, "bool")],
    "ModelReadyRequest": [("name", 1, "string"), ("version", 2, "string")],
    "ModelReadyResponse": [("ready", 1, "bool")],
    "InferParameter": [
        ("bool_param", 1, "bool"),
        ("int64_param", 2, "int64"),
        ("string_param", 3, "string"),
        ("double_param", 4, "double"),
        ("uint64_param", 5, "uint64"),
    ],
    "ModelInferRequest.InferInputTensor": [
        ("name", 1, "string"),
        ("datatype", 2, "string"),
        ("shape", 3, "repeated int64"),
        ("parameters", 4, PARAMS),
    ],
    "ModelInferRequest.InferRequestedOutputTensor": [
        ("name", 1, "string"),
        ("parameters", 2, PARAMS),
    ],
    "ModelInferRequest": [
        ("model_name", 1, "string"),
        ("model_version", 2, "string"),
        ("id", 3, "string"),
        ("parameters", 4, PARAMS),
        ("inputs", 5, "repeated ModelInferRequest.InferInputTensor"),
        ("outputs", 6, "repeated ModelInferRequest.InferRequestedOutputTensor"),
        ("raw_input_contents", 7, "repeated bytes"),
    ],
    # only what we read of a model's configuration; protobuf skips the fields not declared
    "ModelConfigRequest": [("name", 1, "string"), ("version", 2, "string")],
    "ModelConfigResponse": [("config", 1, "ModelConfig")],
    "ModelParameter": [("string_value", 1, "string")],
    "ModelConfig": [("name", 1, "string"), ("parameters", 14, "map<ModelParameter>")],
    "ModelInferResponse.InferOutputTensor": [
        ("name", 1, "string"),
        ("datatype", 2, "string"),
        ("shape", 3, "repeated int64"),
        ("parameters", 4, PARAMS),
    ],
    "ModelInferResponse": [
        ("model_name", 1, "string"),
        ("model_version", 2, "string"),
        ("id", 3, "string"),
        ("parameters", 4, PARAMS),
        ("outputs", 5, "repeated ModelInferResponse.InferOutputTensor"),
        ("raw_output_contents", 6, "repeated bytes"),
    ],
}
ONEOFS = {"InferParameter": "parameter_choice"}
SERVICE = "inference.GRPCInferenceService"
# rpc → (request, response)
METHODS = {
    "ServerReady": ("ServerReadyRequest", "ServerReadyResponse"),
    "ModelReady": ("ModelReadyRequest", "ModelReadyResponse"),
    "ModelInfer": ("ModelInferRequest", "ModelInferResponse"),
    "ModelConfig": ("ModelConfigRequest", "ModelConfigResponse"),
}


def _file() -> descriptor_pb2.FileDescriptorProto:
    proto = descriptor_pb2.FileDescriptorProto(
        name="stashtag/triton_grpc_service.proto", package="inference", syntax="proto3"
    )
    made: dict[str, descriptor_pb2.DescriptorProto] = {}
    for full in sorted(MESSAGES, key=lambda n: n.count(".")):  # a parent before its nested
        fields = MESSAGES[full]
        parent, _, name = full.rpartition(".")
        msg = made[parent].nested_type.add() if parent else proto.message_type.add()
        msg.name = name
        made[full] = msg
        if full in ONEOFS:
            msg.oneof_decl.add(name=ONEOFS[full])
        for fname, number, kind in fields:
            field = msg.field.add(name=fname, number=number, json_name=_camel(fname))
            if full in ONEOFS:
                field.oneof_index = 0
            if kind.startswith("map<"):
                entry = msg.nested_type.add(name=f"{_camel(fname, upper=True)}Entry")
                entry.options.map_entry = True
                entry.field.add(name="key", number=1, type=_F.TYPE_STRING, label=_F.LABEL_OPTIONAL)
                entry.field.add(
                    name="value",
                    number=2,
                    type=_F.TYPE_MESSAGE,
                    type_name=f".inference.{kind[4:-1]}",
                    label=_F.LABEL_OPTIONAL,
                )
                field.label, field.type = _F.LABEL_REPEATED, _F.TYPE_MESSAGE
                field.type_name = f".inference.{full}.{entry.name}"
                continue
            repeated = kind.startswith("repeated ")
            kind = kind.removeprefix("repeated ")
            field.label = _F.LABEL_REPEATED if repeated else _F.LABEL_OPTIONAL
            if kind in _TYPES:
                field.type = _TYPES[kind]
            else:
                field.type, field.type_name = _F.TYPE_MESSAGE, f".inference.{kind}"
    return proto


def _camel(name: str, upper: bool = False) -> str:
    head, *rest = name.split("_")
    head = head.capitalize() if upper else head
    return head + "".join(p.capitalize() for p in rest)


_POOL = descriptor_pool.DescriptorPool()
_POOL.Add(_file())


def message(name: str) -> type:
    """The protobuf class of Triton message ``name`` (e.g. ``"ModelInferRequest"``)."""
    return message_factory.GetMessageClass(_POOL.FindMessageTypeByName(f"inference.{name}"))


# --- tensors: numpy ↔ Triton's raw contents ---------------------------------------------------

_DTYPES = {
    "BOOL": np.bool_,
    "UINT8": np.uint8,
    "INT8": np.int8,
    "INT16": np.int16,
    "INT32": np.int32,
    "INT64": np.int64,
    "UINT16": np.uint16,
    "UINT32": np.uint32,
    "UINT64": np.uint64,
    "FP16": np.float16,
    "FP32": np.float32,
    "FP64": np.float64,
}
_NAMES = {np.dtype(t): name for name, t in _DTYPES.items()}


def datatype(arr: np.ndarray) -> str:
    """Triton's name for ``arr``'s element type (object arrays of bytes are ``BYTES``)."""
    if arr.dtype == np.object_ or arr.dtype.kind in "SU":
        return "BYTES"
    try:
        return _NAMES[arr.dtype]
    except KeyError:
        raise TypeError(f"no Triton datatype for numpy {arr.dtype}") from None


def encode(arr: np.ndarray) -> bytes:
    """Raw contents: little-endian elements in C order; BYTES as 4-byte length + bytes each."""
    if datatype(arr) != "BYTES":
        return np.ascontiguousarray(arr, dtype=arr.dtype.newbyteorder("<")).tobytes()
    parts = []
    for item in arr.reshape(-1):
        data = item.encode("utf-8") if isinstance(item, str) else bytes(item)
        parts += [len(data).to_bytes(4, "little"), data]
    return b"".join(parts)


def decode(raw: bytes, dtype: str, shape: list[int]) -> np.ndarray:
    """The inverse of :func:`encode` for an output tensor."""
    if dtype != "BYTES":
        try:
            np_type = np.dtype(_DTYPES[dtype]).newbyteorder("<")
        except KeyError:
            raise TypeError(f"unsupported Triton datatype {dtype}") from None
        return (
            np.frombuffer(raw, np_type).astype(np_type.newbyteorder("="), copy=False).reshape(shape)
        )
    items, at = [], 0
    while at < len(raw):
        size = int.from_bytes(raw[at : at + 4], "little")
        items.append(raw[at + 4 : at + 4 + size])
        at += 4 + size
    out = np.empty(len(items), dtype=np.object_)
    out[:] = items
    return out.reshape(shape)
