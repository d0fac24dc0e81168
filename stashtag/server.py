"""Run the real ``tritonserver`` binary that the ``nvidia-pytriton`` wheel ships.

The wheel carries Triton with the python backend but no stub in the backend folder: we copy the
backend and the stub for this interpreter into a private folder on first use, put the venv's
``bin`` first on ``PATH`` (so the stub loads this venv's numpy) and its ``libpython`` on
``LD_LIBRARY_PATH``.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import sysconfig
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from stashtag.supervise import kill_group, remove_stale_regions
from stashtag_core.errors import ServeError
from stashtag_core.protocol import KEY_HEADER

READY_TIMEOUT_S = 300.0


@dataclass
class ServerOptions:
    """How to start Triton."""

    repo: Path
    grpc_port: int = 8001
    http_port: int = 8000
    metrics_port: int = 8002
    address: str = "127.0.0.1"  # Triton listens on every address unless told
    log_file: Path | None = None
    verbose: int = 0
    extra_args: list[str] = field(default_factory=list)
    # Shared-server guards: the key protects the admin protocols (and inference with
    # key_inference); TLS covers gRPC, so HTTP and metrics then stay on loopback.
    key: str | None = None
    key_inference: bool = False
    tls_cert: Path | None = None
    tls_key: Path | None = None
    # A tritonserver other than the nvidia-pytriton wheel's (the NGC image's), with its backends.
    binary: Path | None = None
    backend_directory: Path | None = None

    @property
    def tls(self) -> bool:
        return self.tls_cert is not None

    @property
    def side_address(self) -> str:
        """Where HTTP and metrics listen: Triton has no TLS there, so loopback under TLS."""
        return "127.0.0.1" if self.tls else self.address

    @property
    def grpc_url(self) -> str:
        return f"{self.address}:{self.grpc_port}"

    @property
    def http_url(self) -> str:
        return f"http://{self.side_address}:{self.http_port}"

    @property
    def metrics_url(self) -> str:
        return f"http://{self.side_address}:{self.metrics_port}/metrics"

    def guard_args(self) -> list[str]:
        """Triton flags for the key and TLS."""
        args = []
        if self.key:
            protocols = ",".join(
                ADMIN_PROTOCOLS + (INFERENCE_PROTOCOLS if self.key_inference else ())
            )
            args += [
                f"--grpc-restricted-protocol={protocols}:{KEY_HEADER}={self.key}",
                f"--http-restricted-api={protocols}:{KEY_HEADER}={self.key}",
            ]
        if self.tls:
            if self.tls_key is None:
                raise ServeError("TLS needs both a certificate and its private key")
            for label, f in (("certificate", self.tls_cert), ("key", self.tls_key)):
                if not Path(f).is_file():
                    raise ServeError(f"TLS {label} file {f} does not exist")
            args += [
                "--grpc-use-ssl=true",
                f"--grpc-server-cert={Path(self.tls_cert).resolve()}",
                f"--grpc-server-key={Path(self.tls_key).resolve()}",
            ]
        return args


# What the key guards: everything but health and metadata (and, with key_inference, inference
# and metadata too). Health stays open for load balancers and readiness probes.
ADMIN_PROTOCOLS = (
    "model-repository",
    "model-config",
    "statistics",
    "shared-memory",
    "logging",
    "trace",
)
INFERENCE_PROTOCOLS = ("inference", "metadata")


def pytriton_server_dir() -> Path:
    try:
        import pytriton
    except ImportError:
        raise ServeError(
            "the bundled Triton server needs the [serve] extra: pip install ./core ./client"
            " '.[serve]' from a stashtag checkout"
        ) from None
    path = Path(pytriton.__file__).parent / "tritonserver"
    if not (path / "bin" / "tritonserver").is_file():
        raise ServeError(f"{path}/bin/tritonserver is missing from the nvidia-pytriton wheel")
    return path


def prepare_backends(cache: Path | None = None) -> Path:
    """A backend folder whose python backend has the stub for this Python; created once."""
    src = pytriton_server_dir()
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    stub = src / "python_backend_stubs" / version / "triton_python_backend_stub"
    if not stub.is_file():
        raise ServeError(f"nvidia-pytriton ships no python backend stub for Python {version}")
    cache = cache or Path(sys.prefix) / "share" / "stashtag" / "tritonserver-backends"
    python_dir = cache / "python"
    if not (python_dir / stub.name).is_file():
        shutil.copytree(src / "backends" / "python", python_dir, dirs_exist_ok=True)
        shutil.copy2(stub, python_dir / stub.name)
    return cache


def port_free(address: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((address, port))
        except OSError:
            return False
    return True


def free_port(address: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((address, 0))
        return s.getsockname()[1]


def server_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    # The stub's RPATH is relative to where the wheel put it; ours lives elsewhere, so point the
    # loader at the wheel's vendored libraries and at this interpreter's libpython.
    vendored = pytriton_server_dir().parent.parent / "nvidia_pytriton.libs"
    libdir = sysconfig.get_config_var("LIBDIR") or ""
    paths = (str(vendored), libdir, env.get("LD_LIBRARY_PATH"))
    env["LD_LIBRARY_PATH"] = os.pathsep.join(p for p in paths if p)
    return env


# Triton's own error lines: "E1123 10:34:04.176362 2798 file.cc:241] ..."
_ERROR_LINE = re.compile(r"^E\d{4} ")
# Log lines after which Triton never becomes ready (it may not exit by itself either).
FATAL_LOG_MARKERS = ("error while loading shared libraries", "failed to load all models")


def _die_with_parent() -> None:
    """In the child before exec: Linux kills the server when the process that started it
    dies, even by SIGKILL, so no orphaned server holds memory and ports."""
    import ctypes

    pr_set_pdeathsig = 1
    ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGKILL)


class TritonServer:
    """A ``tritonserver`` child process: start, wait until ready, stop cleanly."""

    def __init__(self, options: ServerOptions) -> None:
        self.options = options
        self.process: subprocess.Popen | None = None
        self.log_path = options.log_file or Path(options.repo).resolve().parent / "tritonserver.log"

    def command(self) -> list[str]:
        o = self.options
        if o.binary is not None:
            binary, backends = (
                Path(o.binary),
                o.backend_directory or Path(o.binary).parents[1] / "backends",
            )
        else:
            binary = pytriton_server_dir() / "bin" / "tritonserver"
            backends = o.backend_directory or prepare_backends()
        return [
            str(binary),
            f"--model-repository={Path(o.repo).resolve()}",
            f"--backend-directory={backends}",
            "--model-control-mode=none",  # no remote model loading: no remote code execution
            f"--grpc-address={o.address}",
            f"--grpc-port={o.grpc_port}",
            f"--http-address={o.side_address}",
            f"--http-port={o.http_port}",
            f"--metrics-address={o.side_address}",
            f"--metrics-port={o.metrics_port}",
            "--allow-metrics=true",
            f"--log-verbose={o.verbose}",
            *o.guard_args(),
            *o.extra_args,
        ]

    def start(self, append_log: bool = False) -> TritonServer:
        """Start the server (regions dead servers left in /dev/shm are removed first)."""
        o = self.options
        if o.binary is not None and not Path(o.binary).is_file():
            raise ServeError(f"tritonserver binary {o.binary} does not exist")
        if not (Path(o.repo) / "tagger" / "config.pbtxt").is_file():
            raise ServeError(f"{o.repo} is not a stashtag repository: run `stashtag repo build`")
        for label, address, port in (
            ("gRPC", o.address, o.grpc_port),
            ("HTTP", o.side_address, o.http_port),
            ("metrics", o.side_address, o.metrics_port),
        ):
            if not port_free(address, port):
                raise ServeError(f"{label} port {address}:{port} is already in use; pick another")
        remove_stale_regions()
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab" if append_log else "wb")  # noqa: SIM115 - server's life
        self.process = subprocess.Popen(
            self.command(),
            stdout=log,
            stderr=subprocess.STDOUT,
            env=server_env() if o.binary is None else dict(os.environ),
            start_new_session=True,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )
        return self

    def _log_lines(self) -> list[str]:
        try:
            return self.log_path.read_text(errors="replace").splitlines()
        except OSError:
            return ["(no log)"]

    def log_tail(self, lines: int = 40) -> str:
        return "\n".join(self._log_lines()[-lines:])

    def log_summary(self, tail: int = 15) -> str:
        """Triton's error lines (which name the failing model) and the last lines of its log."""
        lines = self._log_lines()
        errors = [ln for ln in lines if _ERROR_LINE.match(ln) or "error while loading" in ln]
        parts = [f"log {self.log_path}"]
        if errors:
            parts += ["errors:", *errors[-20:]]
        parts += ["last lines:", *lines[-tail:]]
        return "\n".join(parts)

    def ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.options.http_url}/v2/health/ready", timeout=2) as r:
                return r.status == 200
        except (urllib.error.URLError, OSError):
            return False

    def wait_ready(self, timeout: float = READY_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise ServeError(
                    f"tritonserver exited with code {self.process.returncode}; {self.log_summary()}"
                )
            if self.ready():
                return
            if any(marker in self.log_tail(200) for marker in FATAL_LOG_MARKERS):
                self.stop()
                raise ServeError(f"tritonserver failed to start; {self.log_summary()}")
            time.sleep(0.5)
        self.stop()
        raise ServeError(f"tritonserver not ready after {timeout:.0f} s; {self.log_summary()}")

    def stop(self, timeout: float = 30.0) -> None:
        """Ask Triton to shut down (SIGINT), SIGKILL it after ``timeout``; then clean up."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                kill_group(self.process.pid)
                self.process.wait(10)
        self.cleanup()

    def cleanup(self) -> None:
        """After the server is gone: kill its stragglers (stubs that outlived it, some deaf to
        SIGTERM) and remove the shared-memory regions no process uses any more."""
        if self.process is not None:
            kill_group(self.process.pid)  # its own session: only its stubs are in the group
        remove_stale_regions()

    def __enter__(self) -> TritonServer:
        self.start()
        try:
            self.wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.stop()
