"""Calls to one Triton server over gRPC (asyncio and blocking), with grpcio and our protocol.

What the client needs of Triton's service: is the server ready, and run one inference. Errors
come back as :class:`ServerError` with the gRPC status name (``"UNAVAILABLE"``, …) so the
transport can tell an endpoint's trouble from a request's.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from pathlib import Path

import grpc
import grpc.aio
import numpy as np

from stashtag_client.inference import protocol
from stashtag_core.errors import StashtagError

# Triton's own limit; sprites and embedding batches exceed gRPC's 4 MB default.
MAX_MESSAGE = 2**31 - 1
_OPTIONS = [
    ("grpc.max_send_message_length", MAX_MESSAGE),
    ("grpc.max_receive_message_length", MAX_MESSAGE),
]


class ServerError(StashtagError):
    """A gRPC call failed; ``code`` is the status name, ``message`` the server's words."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}" if message else code)
        self.code, self.message = code, message


def _error(exc: grpc.RpcError) -> ServerError:
    code = exc.code() if hasattr(exc, "code") else None
    details = exc.details() if hasattr(exc, "details") else str(exc)
    return ServerError(code.name if code is not None else "UNKNOWN", details or "")


def credentials(tls: bool, ca_file: Path | None) -> grpc.ChannelCredentials | None:
    """TLS credentials (``ca_file``: PEM roots for a self-signed server), or None for plain."""
    if not tls:
        return None
    roots = Path(ca_file).read_bytes() if ca_file is not None else None
    return grpc.ssl_channel_credentials(root_certificates=roots)


def infer_request(
    model: str, inputs: dict[str, np.ndarray], outputs: Sequence[str], priority: int = 0
):
    """A ``ModelInferRequest`` carrying ``inputs`` as raw contents (object arrays → BYTES)."""
    request = _REQUEST(model_name=model)
    for name, arr in inputs.items():
        request.inputs.add(name=name, datatype=protocol.datatype(arr), shape=list(arr.shape))
        request.raw_input_contents.append(protocol.encode(arr))
    for name in outputs:
        request.outputs.add(name=name)
    if priority:
        request.parameters["priority"].uint64_param = priority
    return request


def infer_outputs(response, names: Sequence[str]) -> dict[str, np.ndarray]:
    """The named output tensors of a ``ModelInferResponse`` as numpy arrays."""
    found = {
        t.name: protocol.decode(raw, t.datatype, list(t.shape))
        for t, raw in zip(response.outputs, response.raw_output_contents, strict=True)
    }
    missing = [n for n in names if n not in found]
    if missing:
        raise ServerError("INTERNAL", f"{response.model_name} returned no {', '.join(missing)}")
    return {n: found[n] for n in names}


_REQUEST = protocol.message("ModelInferRequest")


def _method(channel, rpc: str):
    request, response = protocol.METHODS[rpc]
    return channel.unary_unary(
        f"/{protocol.SERVICE}/{rpc}",
        # the message classes are built at run time from the descriptors (no generated stubs)
        request_serializer=protocol.message(request).SerializeToString,  # type: ignore[attr-defined]
        response_deserializer=protocol.message(response).FromString,  # type: ignore[attr-defined]
    )


class AsyncTriton:
    """One server, asyncio."""

    def __init__(
        self,
        address: str,
        creds: grpc.ChannelCredentials | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        if creds is None:
            self.channel = grpc.aio.insecure_channel(address, options=_OPTIONS)
        else:
            self.channel = grpc.aio.secure_channel(address, creds, options=_OPTIONS)
        self.metadata = tuple((headers or {}).items()) or None
        self._ready = _method(self.channel, "ServerReady")
        self._infer = _method(self.channel, "ModelInfer")
        self._config = _method(self.channel, "ModelConfig")

    async def _call(self, rpc, request, timeout_s: float | None):
        try:
            return await rpc(request, timeout=timeout_s, metadata=self.metadata)
        except grpc.RpcError as exc:
            raise _error(exc) from None

    async def ready(self, timeout_s: float = 5.0) -> bool:
        request = protocol.message("ServerReadyRequest")()
        return bool((await self._call(self._ready, request, timeout_s)).ready)

    async def infer(
        self,
        model: str,
        inputs: dict[str, np.ndarray],
        outputs: Sequence[str],
        timeout_s: float | None = None,
        priority: int = 0,
    ) -> dict[str, np.ndarray]:
        request = infer_request(model, inputs, outputs, priority)
        return infer_outputs(await self._call(self._infer, request, timeout_s), outputs)

    async def parameters(self, model: str, timeout_s: float = 10.0) -> dict[str, str]:
        """The string parameters of ``model``'s configuration (``model_id``, …)."""
        request = protocol.message("ModelConfigRequest")(name=model)
        reply = await self._call(self._config, request, timeout_s)
        return {k: v.string_value for k, v in reply.config.parameters.items()}

    async def close(self) -> None:
        await self.channel.close()


class Triton:
    """One server, blocking (smoke tests, scripts; safe from several threads at once):
    :class:`AsyncTriton`'s arguments and methods, run on a private event loop thread."""

    def __init__(self, *args, **kwargs) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()

        async def make() -> AsyncTriton:  # an aio channel belongs to the loop it is made on
            return AsyncTriton(*args, **kwargs)

        self._client = self._run(make())

    def _run(self, coro):
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    def ready(self, timeout_s: float = 5.0) -> bool:
        return self._run(self._client.ready(timeout_s))

    def infer(self, *args, **kwargs) -> dict[str, np.ndarray]:
        """:meth:`AsyncTriton.infer`, blocking."""
        return self._run(self._client.infer(*args, **kwargs))

    def close(self) -> None:
        if self._thread.is_alive():
            self._run(self._client.close())
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(10)
