"""`stashtag serve` error paths: each names the problem instead of hanging."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

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
    (tmp_path / "notes.txt").write_text("someone else's folder")  # not empty: never built over
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


def _serving(repo: Path) -> list[tuple[int, str]]:
    """(pid, command line) of the processes serving ``repo``: tritonserver and its stubs."""
    from stashtag.supervise import proc_texts

    return [(pid, cmd) for pid, cmd, _ in proc_texts() if str(repo) in cmd]


class _Output:
    """Everything ``proc`` prints, collected by a thread (select on a buffered pipe misses
    lines already read into Python's buffer)."""

    def __init__(self, proc: subprocess.Popen) -> None:
        import threading

        self.proc, self.lines = proc, []
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.append(line)

    def text(self) -> str:
        return "".join(self.lines)

    def finish(self, timeout: float = 120) -> str:
        """Waits for ``proc`` to exit and returns all it printed."""
        self.proc.wait(timeout=timeout)
        self.thread.join(timeout=10)
        return self.text()


def _wait_for(condition, proc, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert proc.poll() is None, f"stashtag serve exited while waiting for {what}"
        assert time.monotonic() < deadline, f"no {what} after {seconds:.0f} s"
        time.sleep(0.5)


@pytest.mark.slow
def test_serve_restarts_a_killed_server_and_leaves_nothing_behind(tiny_repo, tmp_path):
    """SIGKILL of tritonserver: serve restarts it. SIGTERM of serve: no stub, no region left."""
    import shutil

    from stashtag.supervise import REGION_PREFIX, regions

    repo = tmp_path / "repo"
    shutil.copytree(tiny_repo, repo)  # its own path: its processes are told apart by it
    repo = repo.resolve()
    opts = ServerOptions(repo, free_port(), free_port(), free_port(), log_file=tmp_path / "log")
    cmd = [sys.executable, "-m", "stashtag.cli", "serve", "--repo", str(repo)]
    cmd += ["--grpc-port", str(opts.grpc_port), "--http-port", str(opts.http_port)]
    cmd += ["--metrics-port", str(opts.metrics_port), "--log-file", str(opts.log_file)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    probe = TritonServer(opts)  # polls readiness only

    def servers() -> list[int]:
        return [pid for pid, c in _serving(repo) if c.split(" ", 1)[0].endswith("tritonserver")]

    def used_regions() -> set[str]:
        return {w for _, c in _serving(repo) for w in c.split() if w.startswith(REGION_PREFIX)}

    out = _Output(proc)
    try:
        _wait_for(probe.ready, proc, 300, "ready server")
        # serve itself must have seen it ready too (a death before that is a failed start)
        _wait_for(lambda: "Triton ready" in out.text(), proc, 60, "serve's ready line")
        (first,) = servers()
        used = used_regions()
        os.kill(first, signal.SIGKILL)
        _wait_for(lambda: servers() not in ([], [first]) and probe.ready(), proc, 300, "restart")
        used |= used_regions()
    finally:
        proc.send_signal(signal.SIGTERM)
        output = out.finish()
    assert proc.returncode == 0, output
    assert "tritonserver died (killed by SIGKILL)" in output
    assert "tritonserver is back (restart 1)" in output
    time.sleep(1)
    assert _serving(repo) == []  # no server, no stub of either generation
    assert len(used) >= 2 and used.isdisjoint(regions())  # their regions are gone too


@pytest.mark.slow  # exports the tiny preset and starts Triton
def test_first_start_builds_the_repository_and_says_what_to_paste(tmp_path):
    """One command on a new box: no repository yet → built (here: tiny, random weights, no GPU
    on this machine → the CPU target), served, and the endpoint to enter in Stash printed."""
    repo = tmp_path / "models"
    opts = ServerOptions(repo, free_port(), free_port(), free_port(), address="0.0.0.0")
    cmd = [sys.executable, "-m", "stashtag.cli", "serve", "--repo", str(repo)]
    cmd += ["--preset", "tiny", "--random-weights", "--address", "0.0.0.0"]
    cmd += ["--grpc-port", str(opts.grpc_port), "--http-port", str(opts.http_port)]
    cmd += ["--metrics-port", str(opts.metrics_port)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    server = TritonServer(opts)
    out = _Output(proc)
    try:
        _wait_for(server.ready, proc, 900, "ready server")
        # the hint follows serve's own readiness check: wait for it, not only for Triton
        _wait_for(lambda: "set Triton endpoints" in out.text(), proc, 60, "hint")
    finally:
        proc.send_signal(signal.SIGTERM)
        output = out.finish()
    assert (repo / "stashtag-settings.json").is_file()
    flat = " ".join(output.split())
    assert "building tiny for python-ort" in flat
    assert "set Triton endpoints to " in flat and f":{opts.grpc_port}" in flat
    assert "set Triton endpoints to 0.0.0.0" not in flat  # an address Stash can reach
