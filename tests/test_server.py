"""`stashtag serve` error paths: each names the problem instead of hanging."""

import subprocess
import sys

import pytest

from stashtag.server import ServerOptions, TritonServer, free_port, port_free
from stashtag_core.errors import ServeError


def _serve(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "stashtag.cli", "serve", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_incomplete_repository(tmp_path):
    result = _serve("--repo", str(tmp_path), "--grpc-port", str(free_port()))
    assert result.returncode == 1
    assert "not a stashtag repository" in result.stderr and "repo build" in result.stderr


def test_port_taken(triton):
    taken = triton.options.grpc_port
    assert not port_free("127.0.0.1", taken)
    result = _serve(
        "--repo",
        str(triton.options.repo),
        "--grpc-port",
        str(taken),
        "--http-port",
        str(free_port()),
        "--metrics-port",
        str(free_port()),
    )
    assert result.returncode == 1
    assert f"gRPC port 127.0.0.1:{taken} is already in use" in " ".join(result.stderr.split())


def test_broken_model_reports_log(tmp_path, tiny_repo):
    """A repository whose model cannot load: the error carries Triton's own log lines."""
    import shutil

    repo = tmp_path / "broken"
    shutil.copytree(tiny_repo, repo)
    (repo / "clip_image" / "1" / "model.onnx").write_bytes(b"not onnx")
    opts = ServerOptions(repo, free_port(), free_port(), free_port(), log_file=tmp_path / "log")
    with pytest.raises(ServeError, match=r"(?s)errors:.*clip_image"), TritonServer(opts):
        pass
