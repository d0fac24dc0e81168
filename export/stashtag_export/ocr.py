"""PP-OCR detection + recognition → ONNX with named tensors.

Default source: the real PP-OCR ONNX files the ``rapidocr`` wheel ships (converted upstream with
paddle2onnx), so the export works offline. Users with their own Paddle inference models go
through :func:`convert_paddle` (``paddle2onnx``).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

from stashtag_core.errors import ExportError
from stashtag_core.modelspec import OCR_CHARSET_FILE
from stashtag_core.presets import OcrArch
from stashtag_export.common import MODEL_FILE, version_dir
from stashtag_export.onnx_io import run_onnx
from stashtag_export.parity import check


def rapidocr_models_dir() -> Path:
    try:
        import rapidocr
    except ImportError:
        raise ExportError(
            "the rapidocr wheel is needed for the default PP-OCR weights: pip install rapidocr"
        ) from None
    return Path(rapidocr.__file__).parent / "models"


def rename_io(src: Path, dst: Path, inputs: dict[str, str], outputs: dict[str, str]) -> Path:
    """Copy an ONNX graph giving its inputs/outputs our names and a symbolic batch axis."""
    import onnx

    model = onnx.load(str(src))
    renames = {**inputs, **outputs}
    for value in [*model.graph.input, *model.graph.output]:
        if value.name in renames:
            value.name = renames[value.name]
            value.type.tensor_type.shape.dim[0].dim_param = "batch"
    for node in model.graph.node:
        node.input[:] = [renames.get(n, n) for n in node.input]
        node.output[:] = [renames.get(n, n) for n in node.output]
    missing = set(renames.values()) - {v.name for v in [*model.graph.input, *model.graph.output]}
    if missing:
        raise ExportError(f"{src.name}: expected tensors not found after renaming: {missing}")
    dst.parent.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(dst))
    return dst


def _io_names(path: Path) -> tuple[str, str]:
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.get_inputs()[0].name, session.get_outputs()[0].name


def charset_from_rec(path: Path) -> str:
    """The character dictionary PP-OCR rec graphs carry in their ``character`` metadata."""
    import onnx

    meta = {p.key: p.value for p in onnx.load(str(path), load_external_data=False).metadata_props}
    if "character" not in meta:
        raise ExportError(f"{path} has no 'character' metadata; pass the dictionary file")
    return meta["character"]


def install_graphs(det: Path, rec: Path, charset: str, repo: Path) -> dict:
    """Name, place and check the det/rec graphs; write the dictionary beside ``ocr_rec``."""
    parity = []
    for model, src, out_name, sample in (
        ("ocr_det", det, "prob", np.random.default_rng(0).uniform(-1, 1, (1, 3, 64, 96))),
        ("ocr_rec", rec, "logits", np.random.default_rng(1).uniform(-1, 1, (2, 3, 48, 160))),
    ):
        in_name, src_out = _io_names(src)
        dst = rename_io(
            src, version_dir(repo, model) / MODEL_FILE, {in_name: "image"}, {src_out: out_name}
        )
        sample = sample.astype(np.float32)
        want = run_onnx(src, {in_name: sample})[src_out]
        parity += check(model, run_onnx(dst, {"image": sample}), {out_name: want}, 0.0, 0.999999)
    (version_dir(repo, "ocr_rec") / OCR_CHARSET_FILE).write_text(charset, encoding="utf-8")
    return {"parity": [p.as_dict() for p in parity], "characters": len(charset.split("\n"))}


def export_ocr(arch: OcrArch, repo: Path) -> dict:
    """Install the rapidocr-shipped PP-OCR graphs (real weights, offline)."""
    src = rapidocr_models_dir()
    det, rec = src / arch.det_file, src / arch.rec_file
    for f in (det, rec):
        if not f.is_file():
            raise ExportError(f"{f} not found: the installed rapidocr wheel lacks {arch.name}")
    info = install_graphs(det, rec, charset_from_rec(rec), repo)
    return {"arch": arch.name, "weights": f"rapidocr:{src}", **info}


def convert_paddle(model_dir: Path, out: Path) -> Path:
    """Convert a Paddle inference model directory to ONNX with the ``paddle2onnx`` CLI."""
    model_dir = Path(model_dir)
    candidates = [
        ("inference.json", "inference.pdiparams"),
        ("inference.pdmodel", "inference.pdiparams"),
    ]
    for model_file, params_file in candidates:
        if (model_dir / model_file).is_file() and (model_dir / params_file).is_file():
            break
    else:
        raise ExportError(
            f"{model_dir}: no Paddle inference model (inference.json or inference.pdmodel "
            "with inference.pdiparams)"
        )
    exe = shutil.which("paddle2onnx") or str(Path(sys.executable).parent / "paddle2onnx")
    if not Path(exe).exists():
        raise ExportError(
            "paddle2onnx is not installed: pip install './export[paddle]' from a stashtag checkout"
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    cmd = [
        exe,
        "--model_dir",
        str(model_dir),
        "--model_filename",
        model_file,
        "--params_filename",
        params_file,
        "--save_file",
        str(out),
        "--opset_version",
        "17",
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0 or not out.is_file():
        raise ExportError(f"paddle2onnx failed for {model_dir}:\n{proc.stdout}\n{proc.stderr}")
    return out


def export_paddle_ocr(det_dir: Path, rec_dir: Path, dict_file: Path, repo: Path) -> dict:
    """User-supplied Paddle det/rec inference models + dictionary → the repository."""
    tmp = Path(repo) / ".paddle2onnx"
    det = convert_paddle(det_dir, tmp / "det.onnx")
    rec = convert_paddle(rec_dir, tmp / "rec.onnx")
    charset = Path(dict_file).read_text(encoding="utf-8").rstrip("\n")
    info = install_graphs(det, rec, charset, repo)
    shutil.rmtree(tmp, ignore_errors=True)
    return {"arch": "paddle", "weights": f"{det_dir}, {rec_dir}", **info}
