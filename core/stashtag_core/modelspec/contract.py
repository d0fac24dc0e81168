"""What the exporters, the server and the client must agree on beyond tensor shapes.

The public models and their tensor names, the files a repository holds, and the preprocessing
constants that both the exported graphs and the server's pre/post-processing depend on.
"""

from __future__ import annotations

from dataclasses import dataclass

# Files in a model's version folder (``<repo>/<model>/1/``).
ONNX_FILE = "model.onnx"
TORCHSCRIPT_FILE = "model.pt"
PLAN_FILE = "model.plan"
META_FILE = "meta.json"  # source, weights, preprocessing and parity of an export
CLIP_MERGES_FILE = "bpe_simple_vocab_16e6.txt.gz"  # clip_tokenize: open_clip's BPE merges
OCR_CHARSET_FILE = "charset.txt"  # ocr_rec: one character a line, in the graph's class order

LETTERBOX_PAD = 114  # grey of YOLO's letterbox border (ultralytics' value, baked in training)
OCR_REC_HEIGHT = 48  # PP-OCR recognition input height; widths vary with the text
YOLO_MAX_DETECTIONS = 100  # per frame, after NMS
# A frame longer than this many times its width (or the reverse) is refused: no video frame is,
# and scaling its short side to a model's input would blow the long one up (a 1x20000 strip
# cropped for CLIP needs a 224x4.5M intermediate).
MAX_FRAME_ASPECT = 20


@dataclass(frozen=True)
class Interface:
    """The tensors a client sends to and reads from one public model (names only: the dims
    depend on the preset and come from the server's config)."""

    model: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]

    def feed(self, *values):
        """The request's inputs by name, given in the order of :attr:`inputs`."""
        if len(values) != len(self.inputs):
            raise ValueError(f"{self.model} takes {len(self.inputs)} inputs, got {len(values)}")
        return dict(zip(self.inputs, values, strict=True))

    def unpack(self, result: dict) -> tuple:
        """The answer's outputs in the order of :attr:`outputs`."""
        return tuple(result[name] for name in self.outputs)


# The public models, the names :func:`build_specs` gives their tensors, and the client sends.
TAGGER = Interface(
    "tagger",
    ("jpeg", "rects"),
    ("clip_embedding", "dino_cls", "dino_patch_mean", "detections", "num_detections"),
)
OCR = Interface("ocr", ("jpeg", "rects"), ("text", "score", "box", "frame"))

# Per-model frame budgets: the tagger takes, for each frame model, an optional INT32 list of the
# request's frame indices it must see (ascending; left out: every frame). That model's outputs
# then have one row per listed frame. Keys: these and each extra detector's name.
FRAME_MODELS = ("clip", "yolo", "dino")


def frame_list(model: str) -> str:
    """The tagger input listing the frames ``model`` (a :data:`FRAME_MODELS` key or a
    detector's name) must see."""
    return f"{model}_frames"


CLIP_TEXT = Interface("clip_text", ("text",), ("embedding",))
