"""Options the server commands share."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

# Commands on an existing repository take its preset and target from its settings.
BUILT_HELP = " [default: what the repository was built with]"
PresetOpt = Annotated[
    str | None,
    typer.Option(help="Model preset: small (CPU), large (GPU), tiny (tests)." + BUILT_HELP),
]

RepoOpt = Annotated[Path, typer.Option("--repo", help="Model repository folder.")]

TARGET_HELP = "python-ort | python-torch (pip Triton, CPU or GPU) | onnxruntime | tensorrt (NGC)"

RandomOpt = Annotated[
    bool,
    typer.Option(
        "--random-weights",
        help="Random weights of the real architectures: no model hub needed (tests, offline demo).",
    ),
]

ONLY_HELP = "Comma-separated subset of clip,yolo,dinov2,ocr."

Fp16Opt = Annotated[
    bool,
    typer.Option("--fp16", help="fp16 compute in CLIP/YOLO/DINOv2 graphs (GPU), checked vs fp32."),
]

Int8Opt = Annotated[
    bool,
    typer.Option(
        "--int8",
        help="int8 weight matmuls in CLIP's image graph and DINOv2 (CPU: about 2x faster on"
        " AVX-512 VNNI), each checked vs fp32 and kept fp32 if under the parity threshold.",
    ),
]

DETECTOR_HELP = (
    "Add a detector to the tagger: 'content' (NudeNet, from the nudenet package: pip install "
    "'stashtag[content]') or NAME=model.onnx[,classes=FILE][,placement=corner][,pad=N]"
    "[,agnostic][,bgr] for any YOLOv8 ONNX export. Repeatable; saved in the repository."
)
