"""``serve``: the bundled Triton server."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path
from typing import Annotated

import typer

from stashtag.cli.apps import app
from stashtag.cli.options import TARGET_HELP, PresetOpt, RandomOpt, RepoOpt
from stashtag_client.cli.common import console, fail
from stashtag_core.errors import StashtagError
from stashtag_core.protocol import KEY_ENV


@app.command()
def serve(
    repo: RepoOpt = Path("model_repository"),
    grpc_port: Annotated[int, typer.Option(help="gRPC port.")] = 8001,
    http_port: Annotated[int, typer.Option(help="HTTP port (health, metadata).")] = 8000,
    metrics_port: Annotated[int, typer.Option(help="Prometheus metrics port.")] = 8002,
    address: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    log_file: Annotated[Path | None, typer.Option(help="Triton's log file.")] = None,
    verbose: Annotated[int, typer.Option(help="Triton log verbosity.")] = 0,
    key: Annotated[
        str,
        typer.Option(
            envvar=KEY_ENV,
            show_default=False,
            help="Shared-server key: clients must send it (stashtag-key header) for admin"
            " calls (repository, config, statistics, shared memory, logging, trace).",
        ),
    ] = "",
    key_inference: Annotated[
        bool, typer.Option(help="Require the key for inference and metadata too.")
    ] = False,
    tls_cert: Annotated[
        Path | None,
        typer.Option(
            envvar="STASHTAG_TLS_CERT",
            help="PEM certificate: gRPC over TLS (HTTP stays on loopback).",
        ),
    ] = None,
    tls_key: Annotated[
        Path | None, typer.Option(envvar="STASHTAG_TLS_KEY", help="PEM private key of --tls-cert.")
    ] = None,
    tritonserver: Annotated[
        Path | None,
        typer.Option(help="Another tritonserver binary (NGC: /opt/tritonserver/bin/tritonserver)."),
    ] = None,
    backend_directory: Annotated[
        Path | None, typer.Option(help="Its backends (NGC: /opt/tritonserver/backends).")
    ] = None,
    build: Annotated[
        bool,
        typer.Option(
            "--build/--no-build",
            help="Build the repository first when its folder is missing or empty.",
        ),
    ] = True,
    preset: PresetOpt = None,
    target: Annotated[
        str | None, typer.Option(help=TARGET_HELP + " [default: by the GPU found]")
    ] = None,
    random_weights: RandomOpt = False,
) -> None:
    """Start the bundled Triton server on a repository until Ctrl-C / SIGTERM; a server that
    dies is restarted (1 s, 2 s, 4 s … apart), and nothing it started outlives it.

    Remote model loading is always off (--model-control-mode=none): no client can make the
    server load code.
    """
    from stashtag.server import ServerOptions, TritonServer
    from stashtag.supervise import supervise

    if key_inference and not key:
        fail(StashtagError("--key-inference needs --key (or STASHTAG_SERVER_KEY)"))
    if (tls_cert is None) != (tls_key is None):
        fail(StashtagError("TLS needs both --tls-cert and --tls-key"))
    if build and (not repo.exists() or not any(repo.iterdir())):
        first_build(repo, preset, target, random_weights)
    opts = ServerOptions(
        repo,
        grpc_port,
        http_port,
        metrics_port,
        address,
        log_file,
        verbose,
        key=key or None,
        key_inference=key_inference,
        tls_cert=tls_cert,
        tls_key=tls_key,
        binary=tritonserver,
        backend_directory=backend_directory,
    )
    server = TritonServer(opts)
    stop = threading.Event()

    def on_signal(signum, frame) -> None:  # SIGTERM stops the server the way Ctrl-C does
        stop.set()
        if not supervising:
            raise KeyboardInterrupt  # still starting: leave wait_ready at once

    supervising = False
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, on_signal)
    try:
        start = time.perf_counter()
        with console.status("starting Triton…"):
            server.start()
            server.wait_ready()
        console.print(
            f"[green]Triton ready[/green] in {time.perf_counter() - start:.1f} s — "
            f"gRPC {'grpcs://' if opts.tls else ''}{opts.grpc_url}  HTTP {opts.http_url}  "
            f"metrics {opts.metrics_url}  (log {server.log_path})"
            + ("  · key required" if opts.key else "")
        )
        console.print(paste_hint(opts, address), soft_wrap=True)
        supervising = True
        supervise(server, lambda msg: console.print(msg, markup=False, soft_wrap=True), stop)
        console.print("stopping Triton…")
    except KeyboardInterrupt:
        console.print("stopping Triton…")
    except StashtagError as exc:
        fail(exc)
    finally:
        server.stop()


def gpu_ids() -> list[str]:
    """The NVIDIA GPUs ``nvidia-smi`` lists here (none without the driver)."""
    import subprocess

    try:
        listed = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return []
    lines = [ln for ln in listed.stdout.splitlines() if ln.startswith("GPU ")]
    return [ln.split()[1].rstrip(":") for ln in lines] if listed.returncode == 0 else []


def first_build(repo: Path, preset: str | None, target: str | None, random: bool) -> None:
    """``repo build`` for a first start, in a child process: the large preset on the GPUs found
    (PyTorch in Triton's python backend, resizing on the GPU), else the small one for the CPU."""
    from stashtag.cli.repo import build_in_child, report_build
    from stashtag.repo import BuildSpec

    gpus = gpu_ids()
    preset = preset or ("large" if gpus else "small")
    target = target or ("python-torch" if gpus else "python-ort")
    on_gpus = bool(gpus) and target.startswith("python")
    found = f"{len(gpus)} GPU(s) found" if gpus else "no GPU found"
    console.print(f"{repo} has no repository yet ({found}): building {preset} for {target}")
    spec = BuildSpec(
        repo,
        preset,
        target,
        random_weights=random,
        gpus=tuple(int(g) for g in gpus) if on_gpus else None,
        device_resize=True if on_gpus and target == "python-torch" else None,
    )
    report_build(build_in_child(spec))


def paste_hint(opts, address: str) -> str:
    """What to enter in Stash, with an address Stash can reach when listening everywhere."""
    host = address
    if address in ("0.0.0.0", "::", ""):
        import socket

        try:  # the address of the interface that routes outwards (no packet is sent)
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.connect(("10.255.255.255", 1))
                host = s.getsockname()[0]
        except OSError:
            host = socket.gethostname()
    scheme = "grpcs://" if opts.tls else ""
    hint = (
        f"In Stash → Settings → Plugins → stashtag, set Triton endpoints to "
        f"{scheme}{host}:{opts.grpc_port}"
    )
    if host in ("127.0.0.1", "localhost", "::1"):
        hint += " (this machine only: --address 0.0.0.0 for a Stash container or other hosts)"
    if opts.key:
        hint += " and Triton server key to the key you gave (--key / STASHTAG_SERVER_KEY)"
    return hint
