"""Run one traced graph with PyTorch inside Triton (the ``python-torch`` target).

On a GPU instance (``instance_group`` KIND_GPU, `repo build --gpus`) the graph runs on that
device under autocast (``precision``: fp16 or bf16), batches up to the largest of
``cuda_graph_batches`` through CUDA graphs (:mod:`stashtag.serving.cuda_graphs`); on the CPU in
fp32. Frames arrive as uint8 and are normalised inside the graph, so only a quarter of the float
bytes cross to the device.
"""

from __future__ import annotations

import numpy as np

from stashtag.processing.torch_resize import parse_resize, resize_frames
from stashtag.serving.cuda_graphs import StaticBatches, as_tuple, check_batches
from stashtag.serving.triton_io import ModelArgs, run_batched
from stashtag_core.modelspec.params import DeviceResize, TorchRunner


class TritonPythonModel:
    def initialize(self, args: dict) -> None:
        import torch

        self.torch = torch
        self.args = a = ModelArgs(args)
        p = a.read(TorchRunner)
        on_gpu = args.get("model_instance_kind") == "GPU" and torch.cuda.is_available()
        index = int(args.get("model_instance_device_id") or 0)
        self.device = torch.device(f"cuda:{index}" if on_gpu else "cpu")
        self.autocast = {"fp16": torch.float16, "bf16": torch.bfloat16}.get(p.precision)
        if not on_gpu:
            self.autocast = None  # CPU autocast is slower than fp32 for these graphs
        if p.intra_op_threads > 0:
            torch.set_num_threads(p.intra_op_threads)
        path = a.version_dir / p.torch_file
        self.model = torch.jit.load(str(path), map_location=self.device).eval()
        self.outputs = a.outputs
        self.forward = self._forward
        resize = a.read(DeviceResize).resize  # --device-resize: frames come at own size
        self.resize = parse_resize(resize) if resize else None
        sizes = check_batches(p.cuda_graph_batches)
        if on_gpu and sizes:
            self.forward = StaticBatches(self._forward, sizes)

    def _forward(self, *inputs):
        if self.autocast is None:
            return self.model(*inputs)
        with self.torch.autocast(self.device.type, dtype=self.autocast):
            return self.model(*inputs)

    def _run(self, *arrays: np.ndarray) -> dict[str, np.ndarray]:
        torch = self.torch
        inputs = [torch.from_numpy(np.ascontiguousarray(x)).to(self.device) for x in arrays]
        with torch.inference_mode():
            if self.resize is not None:
                inputs[0] = resize_frames(inputs[0], *self.resize)
            out = as_tuple(self.forward(*inputs))
            # copied to the host at once: graph outputs are overwritten by the next replay
            return {
                name: t.float().cpu().numpy() for name, t in zip(self.outputs, out, strict=True)
            }

    def execute(self, requests):
        return run_batched(self.args.name, requests, self.args.inputs, self._run)
