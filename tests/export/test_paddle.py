"""The paddle2onnx path for user-supplied Paddle OCR models, on tiny nets built here."""

import numpy as np
import pytest

paddle = pytest.importorskip("paddle", reason="needs the [paddle] extra")

from stashtag_core.errors import ExportError  # noqa: E402
from stashtag_export.ocr import convert_paddle, export_paddle_ocr  # noqa: E402
from stashtag_export.onnx_io import run_onnx  # noqa: E402


class TinyDet(paddle.nn.Layer):
    """Image → 1-channel probability map at input resolution (a DB head's shape)."""

    def __init__(self):
        super().__init__()
        self.conv = paddle.nn.Conv2D(3, 1, 3, padding=1)

    def forward(self, x):
        return paddle.nn.functional.sigmoid(self.conv(x))


class TinyRec(paddle.nn.Layer):
    """Line crop (3, 48, W) → (W/8 steps, classes) softmax (a CTC head's shape)."""

    def __init__(self, classes: int):
        super().__init__()
        self.conv = paddle.nn.Conv2D(3, classes, kernel_size=(48, 8), stride=(48, 8))

    def forward(self, x):
        y = self.conv(x).squeeze(2).transpose([0, 2, 1])
        return paddle.nn.functional.softmax(y, axis=-1)


def _save(layer, spec, path):
    paddle.seed(0)
    layer.eval()
    paddle.jit.save(layer, str(path / "inference"), input_spec=[spec])
    return layer


@pytest.fixture(scope="module")
def paddle_models(tmp_path_factory):
    root = tmp_path_factory.mktemp("paddle")
    (root / "det").mkdir()
    (root / "rec").mkdir()
    det = _save(
        TinyDet(), paddle.static.InputSpec([None, 3, None, None], "float32", "x"), root / "det"
    )
    rec = _save(
        TinyRec(5), paddle.static.InputSpec([None, 3, 48, None], "float32", "x"), root / "rec"
    )
    (root / "dict.txt").write_text("a\nb\nc\n", encoding="utf-8")
    return root, det, rec


def test_convert_matches_paddle(paddle_models, tmp_path):
    root, det, _ = paddle_models
    onnx_path = convert_paddle(root / "det", tmp_path / "det.onnx")
    x = np.random.default_rng(0).uniform(-1, 1, (2, 3, 64, 96)).astype(np.float32)
    got = next(iter(run_onnx(onnx_path, {"x": x}).values()))
    want = det(paddle.to_tensor(x)).numpy()
    np.testing.assert_allclose(got, want, atol=1e-5)


def test_export_paddle_ocr_into_repository(paddle_models, tmp_path):
    root, _, rec = paddle_models
    info = export_paddle_ocr(root / "det", root / "rec", root / "dict.txt", tmp_path)
    assert info["characters"] == 3
    x = np.random.default_rng(1).uniform(-1, 1, (1, 3, 48, 64)).astype(np.float32)
    got = run_onnx(tmp_path / "ocr_rec" / "1" / "model.onnx", {"image": x})["logits"]
    np.testing.assert_allclose(got, rec(paddle.to_tensor(x)).numpy(), atol=1e-5)
    assert (tmp_path / "ocr_rec" / "1" / "charset.txt").read_text() == "a\nb\nc"
    assert (tmp_path / "ocr_det" / "1" / "model.onnx").is_file()


def test_missing_paddle_model_is_named(tmp_path):
    with pytest.raises(ExportError, match="no Paddle inference model"):
        convert_paddle(tmp_path, tmp_path / "x.onnx")
