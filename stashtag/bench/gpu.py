"""GPU utilisation and memory while a benchmark variant runs, read from ``nvidia-smi``.

``nvidia-smi --loop-ms`` prints one CSV line per GPU and period; a thread reads them while the
variant runs. Without ``nvidia-smi`` (no NVIDIA driver: every CI machine) nothing is sampled
and the figures stay ``None`` — the report then says "–", never a made-up zero.
"""

from __future__ import annotations

import shutil
import statistics
import subprocess
import threading
from dataclasses import dataclass

QUERY = "index,utilization.gpu,memory.used"


@dataclass
class GpuUsage:
    """Mean utilisation (%) and peak memory (MiB) over a run, each GPU's samples pooled."""

    util_pct: float
    mem_mib: float
    samples: int


def parse_line(line: str) -> tuple[int, float, float] | None:
    """``index, utilization %, memory MiB`` from one ``noheader,nounits`` CSV line; ``None`` for
    lines that are not samples (a driver message, "[N/A]")."""
    parts = [p.strip() for p in line.split(",")]
    if len(parts) != 3:
        return None
    try:
        return int(parts[0]), float(parts[1]), float(parts[2])
    except ValueError:
        return None


class GpuSampler:
    """Samples every ``period_ms`` between ``__enter__`` and ``__exit__``; ``usage`` after."""

    def __init__(self, period_ms: int = 200, gpus: tuple[int, ...] | None = None) -> None:
        self.period_ms = period_ms
        self.gpus = gpus  # None: all of them
        self.usage: GpuUsage | None = None
        self._rows: list[tuple[int, float, float]] = []
        self._proc: subprocess.Popen | None = None
        self._reader: threading.Thread | None = None

    def __enter__(self) -> GpuSampler:
        exe = shutil.which("nvidia-smi")
        if exe is None:
            return self
        cmd = [exe, f"--query-gpu={QUERY}", "--format=csv,noheader,nounits"]
        cmd.append(f"--loop-ms={self.period_ms}")
        try:
            self._proc = subprocess.Popen(
                cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
            )
        except OSError:
            return self
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        return self

    def _read(self) -> None:
        assert self._proc is not None and self._proc.stdout is not None
        for line in self._proc.stdout:
            row = parse_line(line)
            if row is not None and (self.gpus is None or row[0] in self.gpus):
                self._rows.append(row)

    def __exit__(self, *exc) -> None:
        if self._proc is None:
            return
        self._proc.terminate()
        try:
            self._proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()
        if self._reader is not None:
            self._reader.join(timeout=5)
        if self._rows:
            self.usage = GpuUsage(
                round(statistics.fmean(r[1] for r in self._rows), 1),
                max(r[2] for r in self._rows),
                len(self._rows),
            )
