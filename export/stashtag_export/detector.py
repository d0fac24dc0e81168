"""Extra detectors from ONNX files: NudeNet's YOLOv8 (the ``nudenet`` wheel) or a user's own.

Any YOLOv8-format ONNX export goes in the same way: float NCHW input in [0, 1], one output of
raw heads ``(N, 4 + classes, anchors)``. The exported graph takes uint8 frames (the repository's
convention) and scales them inside; the weights are the source file's, byte for byte.
"""

from __future__ import annotations

import ast
import hashlib
import importlib.metadata
import importlib.util
from pathlib import Path

import numpy as np

from stashtag_core.errors import ExportError
from stashtag_core.modelspec import Detector, nudenet_detector
from stashtag_core.modelspec.buckets import DEFAULT_BUCKET_SCALE, yolo_buckets
from stashtag_export.common import MODEL_FILE, version_dir
from stashtag_export.onnx_io import run_onnx, sample_images
from stashtag_export.parity import check

NUDENET_FILE = "320n.onnx"
NUDENET_MISSING = (
    "the content detector is NudeNet's YOLOv8n, which stashtag does not ship (its licence is "
    "AGPL-3.0): install it with `pip install 'stashtag[content]'` (the nudenet package), then "
    "build again"
)


def nudenet_source() -> tuple[Path, str]:
    """The ONNX file inside the installed ``nudenet`` package and the package's version."""
    spec = importlib.util.find_spec("nudenet")
    if spec is None or not spec.submodule_search_locations:
        raise ExportError(NUDENET_MISSING)
    path = Path(spec.submodule_search_locations[0]) / NUDENET_FILE
    if not path.is_file():
        raise ExportError(f"{path} is missing from the nudenet package: reinstall it")
    return path, importlib.metadata.version("nudenet")


def describe_onnx(
    name: str,
    path: Path,
    classes: tuple[str, ...] | None = None,
    placement: str = "center",
    pad: int | None = None,
    agnostic_nms: bool = False,
) -> Detector:
    """A :class:`Detector` for a YOLOv8 ONNX file: its input size from the graph (or its
    ultralytics ``imgsz`` metadata), its class names from ``classes`` or the ``names`` metadata
    ultralytics writes; both checked against the graph's output."""
    import onnx

    model = _load(path)
    meta = {p.key: p.value for p in model.metadata_props}
    size = _input_size(model, meta, path)
    if classes is None:
        if "names" not in meta:
            raise ExportError(f"{path}: no class names in its metadata: give a classes file")
        names = ast.literal_eval(meta["names"])
        classes = tuple(names[i] for i in sorted(names)) if isinstance(names, dict) else names
    out = model.graph.output
    if len(out) != 1:
        raise ExportError(f"{path}: expected one output (raw YOLOv8 heads), found {len(out)}")
    dims = [d.dim_value or None for d in out[0].type.tensor_type.shape.dim]
    if len(dims) == 3 and dims[1] is None:  # symbolic in the graph: run it once to see
        probe = np.zeros((1, 3, size, size), np.float32)
        dims[1] = next(iter(run_onnx(path, {model.graph.input[0].name: probe}).values())).shape[1]
    if len(dims) != 3 or dims[1] != 4 + len(classes):
        raise ExportError(
            f"{path}: output shape {dims} is not (batch, 4 + {len(classes)} classes, anchors)"
        )
    del onnx
    extra = {} if pad is None else {"pad": pad}
    try:
        return Detector(name, size, tuple(classes), placement, agnostic_nms=agnostic_nms, **extra)
    except ValueError as exc:
        raise ExportError(f"{path}: {exc}") from None


def export_detector(detector: Detector, source: Path, repo: Path, **meta) -> dict:
    """Write ``<repo>/<name>/1/model.onnx`` (uint8 input ``image``, output ``raw``) and check
    it against the source graph on the same pixels; return its metadata."""
    model = _load(source)
    src_in = model.graph.input[0].name
    props = {p.key: p.value for p in model.metadata_props}
    free = _free_size(model)
    wrapped = _uint8_wrapper(model, detector, free)  # in place
    path = version_dir(repo, detector.name) / MODEL_FILE
    import onnx

    onnx.save(wrapped, str(path))
    batches = [sample_images(2, detector.image_size)]
    if free:  # and a bucket (modelspec.buckets): the graph must match its source there too
        w, h = yolo_buckets(detector.image_size, DEFAULT_BUCKET_SCALE)[0]
        batches.append(sample_images(2, h, 1, w))
    parity = []
    for images in batches:
        floats = images.astype(np.float32) / 255.0
        want = run_onnx(source, {src_in: floats[:, ::-1].copy() if detector.bgr else floats})
        got = run_onnx(path, {"image": images})
        parity += check(
            detector.name,
            {"raw": got["raw"]},
            {"raw": next(iter(want.values()))},
            atol=1e-3,
            min_cos=0.99999,
        )
    return {
        **detector.as_dict(),
        "source": str(source),
        "sha256": hashlib.sha256(source.read_bytes()).hexdigest(),
        "licence": props.get("license", "unknown"),
        "parity": [p.as_dict() for p in parity],
        "free_size": free,  # any stride-aligned size: input-size buckets
        "files": [str(path)],
        **meta,
    }


def export_nudenet(repo: Path) -> dict:
    """The ``content`` detector from the installed nudenet package."""
    source, version = nudenet_source()
    return export_detector(
        nudenet_detector(), source, repo, package=f"nudenet {version}", weights="real"
    )


def _load(path: Path):
    import onnx

    try:
        return onnx.load(str(path))
    except (OSError, onnx.onnx_cpp2py_export.checker.ValidationError, ValueError) as exc:
        raise ExportError(f"{path}: not a readable ONNX file ({exc})") from None
    except Exception as exc:  # protobuf's DecodeError for a file that is not ONNX at all
        raise ExportError(f"{path}: not an ONNX model ({exc.__class__.__name__})") from None


def _input_size(model, meta: dict, path: Path) -> int:
    inputs = model.graph.input
    if len(inputs) != 1:
        raise ExportError(f"{path}: expected one image input, found {len(inputs)}")
    dims = [d.dim_value or None for d in inputs[0].type.tensor_type.shape.dim]
    if len(dims) != 4 or dims[1] != 3:
        raise ExportError(f"{path}: input shape {dims} is not (batch, 3, height, width)")
    if dims[2] and dims[3]:
        if dims[2] != dims[3]:
            raise ExportError(f"{path}: input {dims[2]}x{dims[3]} is not square")
        return dims[2]
    imgsz = ast.literal_eval(meta.get("imgsz", "None"))
    if isinstance(imgsz, list | tuple) and len(imgsz) == 2 and imgsz[0] == imgsz[1]:
        return int(imgsz[0])
    raise ExportError(f"{path}: dynamic input size and no square imgsz in its metadata")


def _free_size(model) -> bool:
    """Whether the graph's image input has symbolic height and width (ultralytics' dynamic
    exports, NudeNet's): it then runs at input-size buckets."""
    dims = model.graph.input[0].type.tensor_type.shape.dim
    return len(dims) == 4 and not dims[2].dim_value and not dims[3].dim_value


def _uint8_wrapper(model, detector: Detector, free: bool = False):
    """``model`` with a uint8 ``image`` input scaled by 1/255 in the graph and its output
    renamed ``raw`` (Triton's config names the tensors); ``free``: of any height and width."""
    from onnx import TensorProto, helper, numpy_helper

    graph = model.graph
    src_in, src_out = graph.input[0].name, graph.output[0].name
    taken = {n for node in graph.node for n in (*node.input, *node.output)}
    if "image" in taken or "raw" in taken or any(n.startswith("_stashtag") for n in taken):
        raise ExportError(f"detector {detector.name}: tensor names clash with the wrapper's")
    graph.initializer.append(
        numpy_helper.from_array(np.array(1 / 255, np.float32), "_stashtag_inv255")
    )
    size, classes = detector.image_size, len(detector.classes)
    graph.node.insert(0, helper.make_node("Cast", ["image"], ["_stashtag_f"], to=TensorProto.FLOAT))
    scaled = "_stashtag_scaled" if detector.bgr else src_in
    graph.node.insert(1, helper.make_node("Mul", ["_stashtag_f", "_stashtag_inv255"], [scaled]))
    if detector.bgr:  # frames arrive RGB
        graph.initializer.append(
            numpy_helper.from_array(np.array([2, 1, 0], np.int64), "_stashtag_bgr")
        )
        graph.node.insert(
            2, helper.make_node("Gather", [scaled, "_stashtag_bgr"], [src_in], axis=1)
        )
    graph.node.append(helper.make_node("Identity", [src_out], ["raw"]))
    del graph.input[:]
    hw = ["height", "width"] if free else [size, size]
    graph.input.append(helper.make_tensor_value_info("image", TensorProto.UINT8, ["batch", 3, *hw]))
    del graph.output[:]
    graph.output.append(
        helper.make_tensor_value_info("raw", TensorProto.FLOAT, ["batch", 4 + classes, None])
    )
    return model
