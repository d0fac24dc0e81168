"""The light client installs from wheels alone wherever Stash runs (asks the package registry).

Stash's official Docker image is Alpine (musl) with no compiler: a dependency without a
musllinux wheel cannot be installed by the plugin. pip resolves the client's whole dependency
closure for each platform without that platform (``--dry-run --platform``); a missing wheel
fails here with pip's own words.
"""

from __future__ import annotations

import subprocess
import sys
import tomllib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINUX = [
    "musllinux_1_2_x86_64",  # Stash's official image (Alpine)
    "musllinux_1_2_aarch64",
    "manylinux2014_x86_64",
    "manylinux2014_aarch64",
]
BARE = ["win_amd64", "macosx_11_0_arm64", "macosx_14_0_x86_64"]
PYTHONS = ["3.10", "3.11", "3.12", "3.13"]
COMBINATIONS = [(p, v) for p in LINUX + BARE for v in PYTHONS]

pytestmark = pytest.mark.slow


def client_requirements() -> list[str]:
    """The client's declared dependencies; stashtag-core, ours and pure Python, has none."""
    core = tomllib.loads((ROOT / "core" / "pyproject.toml").read_text())["project"]
    assert core["dependencies"] == []
    client = tomllib.loads((ROOT / "client" / "pyproject.toml").read_text())["project"]
    return [d for d in client["dependencies"] if not d.startswith("stashtag-core")]


def _resolve(platform: str, python: str, target: Path) -> subprocess.CompletedProcess:
    cmd = [
        sys.executable, "-m", "pip", "install", "--dry-run", "--quiet", "--no-cache-dir",
        "--only-binary=:all:", "--platform", platform, "--python-version", python,
        "--target", str(target), *client_requirements(),
    ]  # fmt: skip
    return subprocess.run(cmd, capture_output=True, text=True, timeout=600)


def test_every_platform_resolves_from_wheels(tmp_path):
    with ThreadPoolExecutor(6) as pool:
        done = list(pool.map(lambda c: (c, _resolve(*c, tmp_path / "-".join(c))), COMBINATIONS))
    unreachable = [r.stderr for _, r in done if "No matching distribution" not in r.stderr]
    if all(r.returncode for _, r in done) and unreachable:
        pytest.fail(f"pip could not reach the package registry:\n{unreachable[0][-1500:]}")
    failed = {f"{p} / CPython {v}": r.stderr[-800:] for (p, v), r in done if r.returncode}
    assert not failed, "no wheel for some dependency:\n" + "\n".join(
        f"{k}:\n{msg}" for k, msg in failed.items()
    )


def test_requirements_name_no_package_without_musl_wheels():
    names = {r.split("[")[0].split(">")[0].split("=")[0].strip() for r in client_requirements()}
    assert names & {"tritonclient", "scikit-learn", "simplejpeg", "ml-dtypes"} == set()
