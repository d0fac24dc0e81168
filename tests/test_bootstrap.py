"""The plugin's bootstrap on the Pythons Stash runs: glibc and musl keys, the import probe that
catches musl < 1.2.4's crashes, a damaged install, a half-made helper venv.

A real musl CPython is not on CI machines: musl is simulated where the code asks for it (the
extension suffix and musl's own loader, which prints its version when run bare).
"""

from __future__ import annotations

import base64
import hashlib
import importlib
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "plugin"))
import stashtag_bootstrap as boot

MUSL_SUFFIX = ".cpython-312-x86_64-linux-musl.so"


def _musl(monkeypatch, tmp_path: Path, version: str) -> None:
    """This Python, as seen by the bootstrap, runs on musl ``version``."""
    loader = tmp_path / "ld-musl-x86_64.so.1"
    loader.write_text(
        f"#!/bin/sh\necho 'musl libc (x86_64)' >&2\necho 'Version {version}' >&2\nexit 1\n"
    )
    loader.chmod(0o755)
    monkeypatch.setattr(boot, "MUSL_LOADERS", str(tmp_path / "ld-musl-*.so.1"))
    real = sysconfig.get_config_var
    monkeypatch.setattr(
        sysconfig, "get_config_var", lambda n: MUSL_SUFFIX if n == "EXT_SUFFIX" else real(n)
    )


def _wheel(folder: Path, module: str, source: str) -> Path:
    """A minimal pure-Python wheel holding ``module`` (pip installs it offline)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{module}-0.1-py3-none-any.whl"
    info = f"{module}-0.1.dist-info"
    files = {
        f"{module}.py": source,
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {module}\nVersion: 0.1\n",
        f"{info}/WHEEL": (
            "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        ),
    }
    record = []
    for name, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=")
        record.append(f"{name},sha256={digest.decode()},{len(text.encode())}")
    record.append(f"{info}/RECORD,,")
    with zipfile.ZipFile(path, "w") as z:
        for name, text in files.items():
            z.writestr(name, text)
        z.writestr(f"{info}/RECORD", "\n".join(record) + "\n")
    return path


@pytest.fixture
def plugin_dir(monkeypatch, tmp_path: Path) -> Path:
    """The bootstrap pointed at a plugin folder of its own."""
    monkeypatch.setattr(boot, "WHEELS", tmp_path / "plugin" / "wheels")
    monkeypatch.setattr(boot, "DEPS", tmp_path / "plugin" / "deps")
    return tmp_path / "plugin"


def _log(lines: list):
    return lambda level, message: lines.append((level, message))


def test_glibc_and_musl_pythons_of_one_version_get_different_environments(monkeypatch, tmp_path):
    wheel = _wheel(tmp_path / "w", "tinymod", "X = 1\n")
    assert boot.libc().startswith("glibc-"), "these machines run glibc"
    glibc_key, glibc_runtime = boot.environment_key([wheel]), boot.runtime()
    platform_name = sysconfig.get_platform()
    _musl(monkeypatch, tmp_path, "1.2.5")
    assert sysconfig.get_platform() == platform_name  # what the old key used: the same on both
    assert boot.libc() == "musl-1.2.5"
    assert "linux-musl" in boot.runtime() and boot.runtime() != glibc_runtime
    assert boot.environment_key([wheel]) != glibc_key
    musl_125 = boot.environment_key([wheel])
    _musl(monkeypatch, tmp_path, "1.2.4")
    assert boot.environment_key([wheel]) != musl_125  # an image upgrade installs afresh


def test_a_crashing_native_import_names_the_module_and_the_musl_needed(
    monkeypatch, tmp_path, plugin_dir
):
    """musl 1.2.3 segfaults at numpy's import: simulated by a module that kills its Python."""
    _musl(monkeypatch, tmp_path, "1.2.3")
    _wheel(boot.WHEELS, "crashy", "import os, signal\nos.kill(os.getpid(), signal.SIGSEGV)\n")
    monkeypatch.setattr(boot, "NATIVE", ("json", "crashy"))
    with pytest.raises(boot.BootstrapError) as err:
        boot.ensure(_log([]))
    text = str(err.value)
    assert "crashy" in text and "musl 1.2.3" in text and "musl 1.2.4" in text
    assert "Alpine 3.18" in text
    left = [p for p in boot.DEPS.iterdir() if p.name != ".pip-venv"]
    assert left == [], f"a crashed install must not be kept: {left}"


def test_a_failing_import_is_reported_and_nothing_is_marked_complete(monkeypatch, plugin_dir):
    _wheel(boot.WHEELS, "broken", "raise ImportError('libstdc++.so.6: cannot open')\n")
    monkeypatch.setattr(boot, "NATIVE", ("broken",))
    with pytest.raises(boot.BootstrapError, match=r"broken does not import.*libstdc"):
        boot.ensure(_log([]))
    assert not list(boot.DEPS.glob(f"*/{boot.DONE}"))


def test_a_damaged_install_is_reinstalled_once(monkeypatch, plugin_dir):
    _wheel(boot.WHEELS, "tinymod_ok", "VALUE = 42\n")
    monkeypatch.setattr(boot, "NATIVE", ("tinymod_ok",))
    monkeypatch.setattr(sys, "path", list(sys.path))
    target = boot.activate(_log([]))
    assert (target / boot.DONE).exists()
    (target / "tinymod_ok.py").write_text("raise ImportError('damaged on disk')\n")
    with pytest.raises(ImportError) as err:
        importlib.import_module("tinymod_ok")
    logs: list = []
    boot.reinstall(_log(logs), target, err.value)
    assert importlib.import_module("tinymod_ok").VALUE == 42
    assert any(level == "w" and "reinstalling" in m for level, m in logs)
    sys.modules.pop("tinymod_ok", None)


def _fake_python(path: Path, body: str) -> Path:
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)
    return path


def test_a_half_made_helper_venv_is_made_again(monkeypatch, tmp_path, plugin_dir):
    """A Python without pip gets a helper venv; a broken one left by an earlier run is replaced."""
    helper = boot.DEPS / ".pip-venv" / "bin"
    helper.mkdir(parents=True)
    _fake_python(helper / "python", "exit 1")  # left half made: its pip does not run
    real = sys.executable
    no_pip = _fake_python(
        tmp_path / "python", f'[ "$1 $2" = "-m pip" ] && exit 1\nexec {real} "$@"'
    )
    monkeypatch.setattr(sys, "executable", str(no_pip))
    pip = boot._pip()
    assert pip[0] == str(helper / "python") and boot._has_pip(pip[0])


def test_a_helper_venv_that_cannot_be_made_is_removed(monkeypatch, tmp_path, plugin_dir):
    helper = boot.DEPS / ".pip-venv" / "bin"
    helper.mkdir(parents=True)
    _fake_python(helper / "python", "exit 1")
    monkeypatch.setattr(sys, "executable", str(_fake_python(tmp_path / "python", "exit 1")))
    with pytest.raises(boot.BootstrapError, match="apk add py3-pip"):
        boot._pip()
    assert not (boot.DEPS / ".pip-venv").exists()
