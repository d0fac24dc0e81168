"""CUDA graphs for small batches in the ``python-torch`` target.

A graph replays a whole forward pass as one launch, removing the per-kernel launch cost that
dominates small batches (per-frame requests, text prompts); large batches (sprites: 81 frames
and up) should be compute-bound (unmeasured here) and run eagerly. A graph is captured per
batch size in ``cuda_graph_batches`` on first use, with static input and output buffers; a
batch is copied into the smallest captured size that holds it and the extra rows are ignored
(every model here treats batch rows independently, which the TorchScript export checks).

The capture is injected so that the buffer and padding logic runs on CPUs too (tests use
:func:`capture_eager`, which keeps the same static-buffer semantics).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

log = logging.getLogger(__name__)

# (static inputs, replay, static outputs): replay() refreshes the outputs from the inputs
Captured = tuple[list, Callable[[], None], tuple]
Capture = Callable[[Callable, list], Captured]


def parse_batches(text: str) -> tuple[int, ...]:
    """``"1,2,4"`` → ``(1, 2, 4)``; empty turns graphs off."""
    try:
        sizes = [int(p) for p in text.split(",") if p.strip()]
    except ValueError:
        raise ValueError(f"cuda_graph_batches {text!r}: give batch sizes like 1,2,4,8") from None
    return check_batches(sizes)


def check_batches(sizes: Sequence[int]) -> tuple[int, ...]:
    """The batch sizes to capture, sorted and unique; each must be ≥ 1."""
    if any(s < 1 for s in sizes):
        raise ValueError(f"cuda_graph_batches {list(sizes)}: batch sizes must be ≥ 1")
    return tuple(sorted(set(sizes)))


def bucket_for(n: int, sizes: Sequence[int]) -> int | None:
    """The smallest size ≥ ``n``; ``None`` when ``n`` is above them all (run eagerly)."""
    return next((s for s in sizes if s >= n), None)


def as_tuple(out) -> tuple:
    return tuple(out) if isinstance(out, tuple | list) else (out,)


def capture_cuda_graph(fn: Callable, static: list) -> Captured:
    """Warm ``fn`` up on a side stream (lazy initialisation and cuDNN's algorithm search must
    not be captured), then capture one call on the static inputs."""
    import torch

    stream = torch.cuda.Stream()
    stream.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(stream):
        for _ in range(3):
            fn(*static)
    torch.cuda.current_stream().wait_stream(stream)
    graph = torch.cuda.CUDAGraph()
    with torch.cuda.graph(graph):
        outputs = as_tuple(fn(*static))
    return static, graph.replay, outputs


def capture_eager(fn: Callable, static: list) -> Captured:
    """The same contract without a GPU: replay recomputes into the captured output buffers."""
    outputs = tuple(t.clone() for t in as_tuple(fn(*static)))

    def replay() -> None:
        for buffer, fresh in zip(outputs, as_tuple(fn(*static)), strict=True):
            buffer.copy_(fresh)

    return static, replay, outputs


class StaticBatches:
    """Run ``fn`` through graphs captured for ``sizes``; other batches run ``fn`` directly.

    Outputs of a replay are views of static buffers, valid until the next call: copy them out
    (the Triton model moves them to the host at once).
    """

    def __init__(self, fn: Callable, sizes: Sequence[int], capture: Capture = capture_cuda_graph):
        self.fn = fn
        self.sizes = tuple(sorted(sizes))
        self.capture = capture
        self.graphs: dict[tuple, Captured | None] = {}  # None: capture failed, run eagerly

    def __call__(self, *inputs) -> tuple:
        n = int(inputs[0].shape[0])
        size = bucket_for(n, self.sizes)
        key = (size, tuple((tuple(x.shape[1:]), x.dtype) for x in inputs))
        if size is None or self.graphs.get(key, ()) is None:
            return as_tuple(self.fn(*inputs))
        if key not in self.graphs:
            static = [x[:1].repeat(size, *([1] * (x.dim() - 1))) for x in inputs]
            try:
                self.graphs[key] = self.capture(self.fn, static)
            except RuntimeError as exc:  # an op that cannot be captured, or out of memory
                log.warning("batch %d: no CUDA graph (%s); running it eagerly", size, exc)
                self.graphs[key] = None
                return as_tuple(self.fn(*inputs))
        captured = self.graphs[key]
        assert captured is not None  # a failed capture ran eagerly above
        static, replay, outputs = captured
        for buffer, x in zip(static, inputs, strict=True):
            buffer[:n].copy_(x)
        replay()
        return tuple(t[:n] for t in outputs)
