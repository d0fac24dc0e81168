"""CLIP text, YOLO post-processing and OCR through Triton against their reference frameworks."""

from pathlib import Path

import numpy as np
import pytest

from stashtag.demo.samples import encode_jpeg, text_frame
from stashtag_export.onnx_io import run_onnx
from tests.processing.test_yolo import raw_outputs

PROMPTS = ["a photo of a bedroom", "outdoor pool at night", "Café — naïve 🎬", "word " * 90]


def test_clip_text_matches_open_clip_tokenizer_and_model(client, tiny_repo):
    import open_clip

    tokens = open_clip.get_tokenizer("ViT-B-32")(PROMPTS).numpy()
    want = run_onnx(tiny_repo / "clip_text_encoder" / "1" / "model.onnx", {"tokens": tokens})
    got = client.embed_text(PROMPTS)
    np.testing.assert_allclose(got, want["embedding"], atol=1e-5)
    np.testing.assert_allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)


def test_yolo_post_matches_ultralytics_nms(client):
    import torch
    from ultralytics.utils.nms import non_max_suppression

    raw = raw_outputs(3, seed=11)
    identity = np.tile(np.array([1.0, 0, 0, 640, 640], np.float32), (3, 1))
    out = client._infer(
        "yolo_post", {"raw": raw, "letterbox": identity}, ["detections", "num_detections"]
    )
    want = non_max_suppression(torch.from_numpy(raw), 0.25, 0.45, max_det=100)
    for dets, n, ref in zip(out["detections"], out["num_detections"][:, 0], want, strict=True):
        ref = ref.numpy().clip(0, 640)
        assert n == len(ref) > 0
        got = dets[:n]
        np.testing.assert_allclose(
            got[np.lexsort((got[:, 0], -got[:, 4]))],
            ref[np.lexsort((ref[:, 0], -ref[:, 4]))],
            rtol=1e-5,
            atol=1e-3,
        )


@pytest.mark.parametrize("text", ["STASHTAG", "Studio 42"])
def test_ocr_reads_watermark_like_rapidocr(client, text):
    from rapidocr import RapidOCR

    frame = text_frame(text)
    jpeg = encode_jpeg(frame)
    lines = client.read_text(jpeg, np.array([[0, 0, frame.shape[1], frame.shape[0]]], np.int32))
    assert [line.text for line in lines] == [text]
    assert lines[0].frame == 0 and lines[0].score > 0.8
    box = lines[0].box
    assert box[:, 0].min() < 640 * 0.2 and box[:, 1].min() > 50  # where the text was drawn

    reference = RapidOCR()(frame[:, :, ::-1].copy())  # rapidocr takes BGR like cv2.imread
    assert [t.replace(" ", "") for t in reference.txts] == [text.replace(" ", "")]


def test_ocr_per_frame_of_a_sheet(client):
    """Two frames side by side in one sheet: each line is attributed to its own frame."""
    left, right = text_frame("LEFT"), text_frame("RIGHT")
    sheet = np.concatenate([left, right], axis=1)
    rects = np.array([[0, 0, 640, 360], [640, 0, 640, 360]], np.int32)
    lines = client.read_text(encode_jpeg(sheet), rects)
    assert sorted((line.frame, line.text) for line in lines) == [(0, "LEFT"), (1, "RIGHT")]


def test_ocr_blank_frame_has_no_text(client):
    blank = np.full((90, 160, 3), 128, np.uint8)
    assert client.read_text(encode_jpeg(blank), np.array([[0, 0, 160, 90]], np.int32)) == []


def test_repository_is_served_from_tiny_repo(triton, tiny_repo):
    assert Path(triton.options.repo) == tiny_repo
