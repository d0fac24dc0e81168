"""Run one exported ONNX graph with ONNX Runtime inside Triton (the ``python-ort`` target)."""

from __future__ import annotations

import numpy as np

from stashtag.serving.runtime import make_session
from stashtag.serving.triton_io import ModelArgs, run_batched
from stashtag_core.modelspec.params import OrtRunner


class TritonPythonModel:
    def initialize(self, args: dict) -> None:
        self.args = ModelArgs(args)
        p = self.args.read(OrtRunner)
        on_gpu = args.get("model_instance_kind") == "GPU"  # instance_group KIND_GPU (--gpus)
        self.session = make_session(
            self.args.version_dir / p.onnx_file,
            threads=p.intra_op_threads,
            device="cuda" if on_gpu else "auto",
            device_id=int(args.get("model_instance_device_id") or 0),
        )
        self.outputs = self.args.outputs
        self.chunk = p.run_chunk or None

    def _run(self, *arrays):
        n = len(arrays[0])
        step = self.chunk or n
        parts = []
        for lo in range(0, n, step):
            feed = dict(zip(self.args.inputs, (a[lo : lo + step] for a in arrays), strict=True))
            parts.append(self.session.run(self.outputs, feed))
        merged = (
            parts[0] if len(parts) == 1 else [np.concatenate(p) for p in zip(*parts, strict=True)]
        )
        return dict(zip(self.outputs, merged, strict=True))

    def execute(self, requests):
        return run_batched(self.args.name, requests, self.args.inputs, self._run)
