"""A shared server: the key guards admin calls (and optionally inference), gRPC runs over TLS,
remote model loading stays off, and interactive requests carry their priority to the models."""

from __future__ import annotations

import asyncio
import urllib.error
import urllib.request

import numpy as np
import pytest

from stashtag.server import ServerOptions, TritonServer, free_port
from stashtag_client.inference.transport import (
    AccessError,
    EndpointPool,
    RetryPolicy,
    ServerAccess,
    TransportError,
    parse_endpoints,
)
from stashtag_core.modelspec import TAGGER
from stashtag_core.protocol import GRPC_KEY_HEADER, KEY_HEADER, PRIORITY_INTERACTIVE
from tests.security.certs import self_signed

KEY = "correct horse battery staple"


def _server(repo, tmp, name: str, **guards) -> TritonServer:
    opts = ServerOptions(
        repo, free_port(), free_port(), free_port(), log_file=tmp / f"{name}.log", **guards
    )
    server = TritonServer(opts).start()
    try:
        server.wait_ready()
    except Exception:
        server.stop()
        raise
    return server


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("certs")
    return self_signed(folder, "server"), self_signed(folder, "stranger")


@pytest.fixture(scope="module")
def tls_server(tiny_repo, certs, tmp_path_factory):
    """Key on the admin protocols, gRPC over TLS."""
    (crt, key), _ = certs
    server = _server(
        tiny_repo, tmp_path_factory.mktemp("tls"), "tls", key=KEY, tls_cert=crt, tls_key=key
    )
    yield server
    server.stop()


@pytest.fixture(scope="module")
def locked_server(tiny_repo, tmp_path_factory):
    """Key on inference too; verbose log to see request priorities."""
    server = _server(
        tiny_repo,
        tmp_path_factory.mktemp("locked"),
        "locked",
        key=KEY,
        key_inference=True,
        verbose=1,
    )
    yield server
    server.stop()


def _sprite(seed: int = 0):
    from stashtag.demo.samples import encode_jpeg, sprite_sheet

    jpeg = encode_jpeg(sprite_sheet(seed)[:90, :320])
    return {
        "jpeg": np.frombuffer(jpeg, np.uint8),
        "rects": np.array([[0, 0, 160, 90], [160, 0, 160, 90]], np.int32),
    }


def _tag(url: str, access: ServerAccess, attempts: int = 2) -> dict:
    async def go():
        policy = RetryPolicy(attempts=attempts, base_delay_s=0.1, cooldown_s=0.5, timeout_s=60)
        async with EndpointPool(parse_endpoints(url), 2, policy, access) as pool:
            return await pool.infer(TAGGER.model, _sprite(), TAGGER.outputs)

    return asyncio.run(go())


def _grpc(server: TritonServer, ca=None):
    import tritonclient.grpc as grpcclient

    kw = {"ssl": True, "root_certificates": str(ca)} if ca else {}
    return grpcclient.InferenceServerClient(server.options.grpc_url, **kw)


def _http_stats(server: TritonServer, key: str | None) -> int:
    request = urllib.request.Request(f"{server.options.http_url}/v2/models/stats")
    if key:
        request.add_header(KEY_HEADER, key)
    try:
        with urllib.request.urlopen(request, timeout=10) as r:
            return r.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_admin_calls_need_the_key(tls_server, certs):
    from tritonclient.utils import InferenceServerException

    (crt, _), _ = certs
    client = _grpc(tls_server, crt)
    with pytest.raises(InferenceServerException, match="restricted"):
        client.get_inference_statistics("clip_image")
    with pytest.raises(InferenceServerException, match="restricted"):
        client.get_model_repository_index()
    stats = client.get_inference_statistics("clip_image", headers={GRPC_KEY_HEADER: KEY})
    assert stats.model_stats[0].name == "clip_image"
    assert _http_stats(tls_server, None) >= 400
    assert _http_stats(tls_server, "wrong key") >= 400
    assert _http_stats(tls_server, KEY) == 200


def test_remote_model_loading_is_off_even_with_the_key(tls_server, certs):
    from tritonclient.utils import InferenceServerException

    (crt, _), _ = certs
    client = _grpc(tls_server, crt)
    with pytest.raises(InferenceServerException, match=r"(?i)not allowed|explicit model"):
        client.load_model("yolo", headers={GRPC_KEY_HEADER: KEY})
    with pytest.raises(InferenceServerException, match=r"(?i)not allowed|explicit model"):
        client.unload_model("yolo", headers={GRPC_KEY_HEADER: KEY})
    assert client.is_model_ready("yolo")


def test_tls_inference_with_the_servers_ca(tls_server, certs):
    (crt, _), _ = certs
    out = _tag(tls_server.options.grpc_url, ServerAccess(ca_file=crt))
    assert out["clip_embedding"].shape[0] == 2
    # grpcs:// alone asks for TLS with the system roots: a self-signed server is refused
    with pytest.raises((AccessError, TransportError)):
        _tag("grpcs://" + tls_server.options.grpc_url, ServerAccess(), attempts=1)


def test_tls_refuses_a_stranger_ca_and_plaintext(tls_server, certs):
    _, (stranger, _) = certs
    with pytest.raises(AccessError, match="TLS"):
        _tag(tls_server.options.grpc_url, ServerAccess(ca_file=stranger), attempts=1)
    with pytest.raises((AccessError, TransportError)):
        _tag(tls_server.options.grpc_url, ServerAccess(), attempts=1)


def test_http_stays_on_loopback_under_tls(tls_server):
    opts = tls_server.options
    assert opts.side_address == "127.0.0.1"
    assert f"--http-address={opts.side_address}" in tls_server.command()


def test_inference_key_is_checked_and_not_retried(locked_server):
    url = locked_server.options.grpc_url
    with pytest.raises(AccessError, match=KEY_HEADER):
        _tag(url, ServerAccess(), attempts=6)
    with pytest.raises(AccessError, match=KEY_HEADER):
        _tag(url, ServerAccess(key="wrong"), attempts=6)
    out = _tag(url, ServerAccess(key=KEY))
    assert out["dino_cls"].shape[0] == 2
    assert locked_server.ready()  # health stays open for readiness probes


def test_interactive_priority_reaches_the_frame_models(locked_server):
    log = locked_server.log_path
    before = len(log.read_text(errors="replace").splitlines())
    _tag(locked_server.options.grpc_url, ServerAccess(key=KEY, priority=PRIORITY_INTERACTIVE))
    lines = log.read_text(errors="replace").splitlines()[before:]
    prepared = [ln for ln in lines if "prepared:" in ln and "model: clip_image" in ln]
    assert prepared, "no clip_image request in the verbose log"
    assert all(f"priority: {PRIORITY_INTERACTIVE}" in ln for ln in prepared), prepared


def test_guard_options_are_validated(tiny_repo, tmp_path):
    from stashtag_core.errors import ServeError

    opts = ServerOptions(tiny_repo, tls_cert=tmp_path / "missing.crt", tls_key=tmp_path / "k")
    with pytest.raises(ServeError, match=r"missing\.crt does not exist"):
        opts.guard_args()
    with pytest.raises(AccessError, match=r"nope\.pem does not exist"):
        ServerAccess(ca_file=tmp_path / "nope.pem").channel("127.0.0.1:1")


def test_serve_refuses_half_configured_guards(tmp_path):
    from typer.testing import CliRunner

    from stashtag.cli import app

    runner = CliRunner()
    result = runner.invoke(app, ["serve", "--key-inference"], env={"STASHTAG_SERVER_KEY": ""})
    assert result.exit_code != 0 and "--key-inference needs --key" in result.output
    result = runner.invoke(app, ["serve", "--tls-cert", str(tmp_path / "a.crt")])
    assert result.exit_code != 0 and "both --tls-cert and --tls-key" in result.output
