"""Our table of Triton's gRPC messages against tritonclient's generated code (Triton's proto)."""

import numpy as np
import pytest
from google.protobuf import descriptor_pool
from tritonclient.grpc import service_pb2  # registers Triton's messages in the default pool
from tritonclient.utils import deserialize_bytes_tensor, serialize_byte_tensor

from stashtag_client.inference import protocol
from stashtag_client.inference.grpc_client import infer_outputs, infer_request


def _shape(descriptor) -> dict:
    """A message's fields as (number, type, repeated, message type, oneof), nested included."""
    out = {}
    for f in descriptor.fields:
        kind = f.message_type.full_name if f.message_type else None
        oneof = f.containing_oneof.name if f.containing_oneof else None
        out[f.name] = (f.number, f.type, f.is_repeated, kind, oneof)
    for nested in descriptor.nested_types:
        out[nested.name] = _shape(nested)
    return out


@pytest.mark.parametrize("name", [m for m in protocol.MESSAGES if "." not in m])
def test_messages_match_tritons_proto(name):
    ours = protocol.message(name).DESCRIPTOR
    theirs = descriptor_pool.Default().FindMessageTypeByName(f"inference.{name}")
    mine, real = _shape(ours), _shape(theirs)
    # we declare a subset: every field we have is Triton's field, number and type
    for field, spec in mine.items():
        assert field in real, f"{name}.{field} is not in Triton's proto"
        if isinstance(spec, dict):
            assert spec.items() <= real[field].items(), f"{name}.{field}"
        else:
            assert spec == real[field], f"{name}.{field}"


def test_service_methods_exist():
    service = service_pb2.DESCRIPTOR.services_by_name["GRPCInferenceService"]
    assert service.full_name == protocol.SERVICE
    for rpc, (request, response) in protocol.METHODS.items():
        method = service.methods_by_name[rpc]
        assert (method.input_type.name, method.output_type.name) == (request, response)


def test_request_bytes_equal_tritonclients():
    """The same request serialises to the same wire bytes as tritonclient's."""
    import tritonclient.grpc as grpcclient
    from tritonclient.grpc._utils import _get_inference_request

    arrays = {
        "jpeg": np.frombuffer(b"\xff\xd8 sprite", np.uint8),
        "rects": np.arange(8, dtype=np.int32).reshape(2, 4),
        "text": np.array([[b"a beach"], ["é".encode()]], dtype=np.object_),
    }
    tensors = []
    for name, arr in arrays.items():
        t = grpcclient.InferInput(name, list(arr.shape), protocol.datatype(arr))
        t.set_data_from_numpy(arr)
        tensors.append(t)
    outs = [grpcclient.InferRequestedOutput(n) for n in ("a", "b")]
    theirs = _get_inference_request("tagger", tensors, "", "", outs, 0, False, False, 2, None, None)
    ours = infer_request("tagger", arrays, ["a", "b"], priority=2)
    assert ours.SerializeToString(deterministic=True) == theirs.SerializeToString(
        deterministic=True
    )


def test_bytes_tensors_round_trip():
    arr = np.array([[b"x"], [b""], ["ünï".encode()]], dtype=np.object_)
    raw = protocol.encode(arr)
    assert raw == serialize_byte_tensor(arr).item()
    back = protocol.decode(raw, "BYTES", [3, 1])
    assert back.tolist() == arr.tolist()
    assert deserialize_bytes_tensor(raw).tolist() == arr.reshape(-1).tolist()


def test_response_decoding():
    response = service_pb2.ModelInferResponse(model_name="m")
    emb = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    for name, arr in {"emb": emb, "n": np.array([1, 2], np.int32)}.items():
        t = response.outputs.add(name=name, datatype=protocol.datatype(arr))
        t.shape.extend(arr.shape)
        response.raw_output_contents.append(arr.tobytes())
    parsed = protocol.message("ModelInferResponse").FromString(response.SerializeToString())
    out = infer_outputs(parsed, ["emb", "n"])
    np.testing.assert_array_equal(out["emb"], emb)
    assert out["n"].tolist() == [1, 2]
    with pytest.raises(Exception, match="returned no missing"):
        infer_outputs(parsed, ["missing"])
