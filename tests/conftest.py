"""Shared fixtures: a tiny random-weight repository and a real Triton server serving it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

# Tests import ultralytics directly; it must not pip-install anything during a test run.
os.environ.setdefault("YOLO_AUTOINSTALL", "false")
from stashtag.demo.samples import encode_jpeg, sprite_sheet
from stashtag.server import ServerOptions, TritonServer, free_port

# `pytest --fast` (make test-fast): the edit-test loop, without Triton, exports or installs.
HEAVY_FIXTURES = {"tiny_repo"}  # every Triton fixture builds on it
HEAVY_FOLDERS = ("export", "ui")  # each test exports models or drives a browser


def pytest_addoption(parser):
    parser.addoption(
        "--fast",
        action="store_true",
        help="Only the tests that need no Triton server, model export, browser or install.",
    )


def pytest_collection_modifyitems(config, items):
    if not config.getoption("--fast"):
        return
    here = Path(__file__).parent
    keep, drop = [], []
    for item in items:
        folder = Path(item.path).relative_to(here).parts[0]
        heavy = (
            HEAVY_FIXTURES & set(getattr(item, "fixturenames", ()))
            or item.get_closest_marker("slow")
            or folder in HEAVY_FOLDERS
        )
        (drop if heavy else keep).append(item)
    config.hook.pytest_deselected(items=drop)
    items[:] = keep


@pytest.fixture(scope="session")
def tiny_repo(tmp_path_factory) -> Path:
    """Export the ``tiny`` preset (random weights, real PP-OCR) plus NudeNet's real content
    detector (the test install has the ``content`` extra) and write its configs."""
    from stashtag.repo import BuildSpec, build_repository

    repo = tmp_path_factory.mktemp("repo") / "tiny"
    spec = BuildSpec(
        repo,
        "tiny",
        "python-ort",
        random_weights=True,
        detectors=("content",),
        torchscript=True,  # for the python-torch target's tests
    )
    build_repository(spec, log=lambda _m: None)
    return repo


@pytest.fixture(scope="session")
def triton(tiny_repo):
    """``stashtag serve`` (the real CLI → real ``tritonserver``) on free loopback ports."""
    opts = ServerOptions(
        tiny_repo,
        grpc_port=free_port(),
        http_port=free_port(),
        metrics_port=free_port(),
        log_file=tiny_repo.parent / "tritonserver.log",
    )
    cmd = [
        sys.executable,
        "-m",
        "stashtag.cli",
        "serve",
        "--repo",
        str(tiny_repo),
        "--grpc-port",
        str(opts.grpc_port),
        "--http-port",
        str(opts.http_port),
        "--metrics-port",
        str(opts.metrics_port),
        "--log-file",
        str(opts.log_file),
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    server = TritonServer(opts)  # used only to poll readiness and read the log
    server.cli_process = proc  # `stashtag serve`, parent of tritonserver and its stubs
    deadline = time.monotonic() + 300
    while not server.ready():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"stashtag serve did not start:\n{proc.stdout.read()}\n{server.log_tail()}")
        time.sleep(0.5)
    yield server
    proc.send_signal(signal.SIGTERM)
    output, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, f"stashtag serve did not stop cleanly:\n{output}"
    assert not server.ready()


@pytest.fixture(scope="session")
def client(triton):
    from stashtag_client.inference.triton import TritonClient

    return TritonClient(triton.options.grpc_url)


@pytest.fixture(scope="session")
def triton_admin(triton):
    """tritonclient on the session server: statistics and other calls the client never makes."""
    import tritonclient.grpc as grpcclient

    return grpcclient.InferenceServerClient(triton.options.grpc_url)


@pytest.fixture(scope="session")
def small_sprite() -> tuple[bytes, np.ndarray]:
    """A 3×3 sprite sheet (160×90 cells) as JPEG bytes with its rectangles."""
    from stashtag_client.frames.sprites import grid_rects

    sheet = sprite_sheet(seed=3)[: 3 * 90, : 3 * 160]
    return encode_jpeg(sheet), grid_rects(3 * 160, 3 * 90, cols=3, rows=3)


def pytest_sessionfinish(session, exitstatus):
    """The suite leaves no Triton stub behind and no python-backend region in /dev/shm."""
    from stashtag.supervise import orphaned_stubs, remove_stale_regions

    deadline = time.monotonic() + 10  # a stub just SIGKILLed may still be on its way out
    while (orphans := orphaned_stubs()) and time.monotonic() < deadline:
        time.sleep(0.5)
    for pid in orphans:
        os.kill(pid, signal.SIGKILL)
    stale = remove_stale_regions()
    if orphans or stale:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(
                f"left behind: {len(orphans)} orphaned Triton stub(s) {orphans}, "
                f"{len(stale)} unused /dev/shm region(s) (now removed)",
                red=True,
            )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
