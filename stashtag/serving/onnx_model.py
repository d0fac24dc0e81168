"""Run one exported ONNX graph with ONNX Runtime inside Triton (the ``python-ort`` target)."""

from __future__ import annotations

from stashtag.serving.runtime import make_session
from stashtag.serving.triton_io import ModelArgs, run_batched


class TritonPythonModel:
    def initialize(self, args: dict) -> None:
        self.args = ModelArgs(args)
        path = self.args.version_dir / self.args.param("onnx_file")
        on_gpu = args.get("model_instance_kind") == "GPU"  # instance_group KIND_GPU (--gpus)
        self.session = make_session(
            path,
            threads=self.args.param("intra_op_threads", int),
            device="cuda" if on_gpu else "auto",
            device_id=int(args.get("model_instance_device_id") or 0),
        )
        self.outputs = self.args.outputs

    def _run(self, *arrays):
        feed = dict(zip(self.args.inputs, arrays, strict=True))
        return dict(zip(self.outputs, self.session.run(self.outputs, feed), strict=True))

    def execute(self, requests):
        return run_batched(self.args.name, requests, self.args.inputs, self._run)
