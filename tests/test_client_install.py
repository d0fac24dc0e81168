"""The light client installs on its own: no torch, no ONNX Runtime, no server, and it runs.

A real install from the registry into an empty virtual environment, the way a Stash user's
Python gets it.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import venv
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# Distributions that must never reach the light install (the server's and the exporters').
HEAVY = {
    "torch",
    "torchvision",
    "onnxruntime",
    "onnxruntime-gpu",
    "onnx",
    "nvidia-pytriton",
    "opencv-python-headless",
    "opencv-python",
    "ultralytics",
    "open-clip-torch",
    "transformers",
    "stashtag",
    "stashtag-export",
}

pytestmark = pytest.mark.slow


def _run(*cmd: str | Path, check: bool = True, cwd: Path | None = None):
    # cwd away from the checkout: `python -c` would import the folders in the working directory
    return subprocess.run(
        [str(c) for c in cmd], capture_output=True, text=True, timeout=900, check=check, cwd=cwd
    )


@pytest.fixture(scope="module")
def light_env(tmp_path_factory) -> Path:
    env = tmp_path_factory.mktemp("client-venv")
    venv.EnvBuilder(with_pip=True).create(env)
    # Copies: setuptools writes build/ and *.egg-info into the folder it builds from.
    skip = shutil.ignore_patterns("build", "*.egg-info", "__pycache__")
    dists = [shutil.copytree(ROOT / d, env / "src" / d, ignore=skip) for d in ("core", "client")]
    py = env / "bin" / "python"
    done = _run(py, "-m", "pip", "install", "--quiet", *dists, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return env


def test_installs_no_server_or_heavy_package(light_env):
    listed = _run(light_env / "bin" / "python", "-m", "pip", "list", "--format", "json")
    names = {d["name"].lower().replace("_", "-") for d in json.loads(listed.stdout)}
    assert {"stashtag-client", "stashtag-core", "grpcio", "numpy"} <= names
    assert names & HEAVY == set()
    # no musllinux wheels: Stash's Alpine image could not install them (test_client_wheels.py)
    assert names & {"tritonclient", "ml-dtypes", "scikit-learn", "simplejpeg"} == set()


def test_the_client_command_runs(light_env):
    shown = _run(light_env / "bin" / "stashtag-client", "--help")
    for command in ("tag", "retag", "stash", "search", "learn"):
        assert command in shown.stdout
    # Every client module imports with the light dependencies alone; the server does not exist.
    probe = (
        "import importlib, pkgutil, stashtag_client\n"
        "for m in pkgutil.walk_packages(stashtag_client.__path__, 'stashtag_client.'):\n"
        "    if not m.name.endswith('__main__'):\n"
        "        importlib.import_module(m.name)\n"
        "try:\n    import stashtag\nexcept ModuleNotFoundError:\n    print('no server')\n"
    )
    out = _run(light_env / "bin" / "python", "-c", probe, cwd=light_env)
    assert out.stdout.strip() == "no server"


def test_the_check_sees_a_heavy_package():
    """The set test is not blind: the development environment has the heavy packages."""
    listed = _run(sys.executable, "-m", "pip", "list", "--format", "json")
    names = {d["name"].lower().replace("_", "-") for d in json.loads(listed.stdout)}
    assert {"torch", "onnxruntime", "stashtag"} <= names
