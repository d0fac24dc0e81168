"""Triton model with the ``tagger`` interface that does no work: zeros of the right shapes.

``stashtag bench`` serves it to measure the client alone (encoding, gRPC, parsing, bookkeeping)
without any model time in the way.
"""

from __future__ import annotations

import numpy as np

from stashtag.serving.triton_io import ModelArgs, get_input, per_request


class TritonPythonModel:
    def initialize(self, args: dict) -> None:
        self.args = ModelArgs(args)
        self.dims = {t["name"]: [int(d) for d in t["dims"]] for t in self.args.config["output"]}

    def _zeros(self, request) -> dict[str, np.ndarray]:
        frames = len(get_input(request, "rects"))
        return {
            name: np.zeros([frames if d == -1 else d for d in dims], self.args.output_dtypes[name])
            for name, dims in self.dims.items()
        }

    def execute(self, requests):
        return per_request(self.args.name, requests, self._zeros)
