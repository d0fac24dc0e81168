"""Triton model ``clip_tokenize``: prompt strings → CLIP token ids (no torch on the server)."""

from __future__ import annotations

import numpy as np

from stashtag.processing.clip_tokenizer import ClipTokenizer
from stashtag.serving.triton_io import ModelArgs, run_batched
from stashtag_core.modelspec import CLIP_MERGES_FILE
from stashtag_core.modelspec.params import TokenizeParams


class TritonPythonModel:
    def initialize(self, args: dict) -> None:
        self.args = ModelArgs(args)
        self.tokenizer = ClipTokenizer(
            self.args.version_dir / CLIP_MERGES_FILE,
            self.args.read(TokenizeParams).context_length,
        )

    def _run(self, text: np.ndarray) -> dict:
        prompts = [t.decode("utf-8") if isinstance(t, bytes) else str(t) for t in text[:, 0]]
        return {"tokens": self.tokenizer(prompts)}

    def execute(self, requests):
        return run_batched(self.args.name, requests, ["text"], self._run)
