"""The served ensemble against the same ONNX graphs run in-process on the same frames."""

import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from stashtag.processing.image import crop_frames, decode_image, letterbox_batch, prepare
from stashtag.processing.yolo import postprocess_batch
from stashtag.statistics import counts, settled
from stashtag_core.modelspec import YOLO_MAX_DETECTIONS
from stashtag_core.modelspec.buckets import (
    DEFAULT_BUCKET_SCALE,
    aspect_bucket,
    dino_buckets,
    letterbox_bucket,
    yolo_buckets,
)
from stashtag_export.onnx_io import run_onnx


def in_process(repo, jpeg: bytes, rects: np.ndarray, scale: float = DEFAULT_BUCKET_SCALE) -> dict:
    """The tagger's outputs computed here; YOLO and DINOv2 at the input-size buckets the
    repository uses (its default scale)."""
    frames = crop_frames(decode_image(jpeg, 10**8), rects)
    shapes = [(f.shape[1], f.shape[0]) for f in frames]
    clip = run_onnx(
        repo / "clip_image" / "1" / "model.onnx", {"image": prepare(frames, 224, "crop")}
    )
    dino_size = aspect_bucket(shapes, dino_buckets(224, scale))
    dino = run_onnx(
        repo / "dinov2" / "1" / "model.onnx", {"image": prepare(frames, dino_size, "squash")}
    )
    boxed, geometry = letterbox_batch(
        frames, letterbox_bucket(shapes, yolo_buckets(640, scale), scale)
    )
    raw = run_onnx(repo / "yolo" / "1" / "model.onnx", {"image": boxed})["raw"]
    dets, counts = postprocess_batch(raw, geometry, 0.25, 0.45, YOLO_MAX_DETECTIONS)
    return {
        "clip": clip["embedding"],
        "dino_cls": dino["cls"],
        "dino_patch_mean": dino["patch_mean"],
        "detections": [d[:n] for d, n in zip(dets, counts[:, 0], strict=True)],
    }


def test_sprite_matches_in_process(client, tiny_repo, small_sprite):
    jpeg, rects = small_sprite
    got = client.tag_frames(jpeg, rects)
    want = in_process(tiny_repo, jpeg, rects)
    assert got.clip.shape == (9, 64)
    np.testing.assert_allclose(got.clip, want["clip"], atol=1e-4)
    np.testing.assert_allclose(got.dino_cls, want["dino_cls"], atol=1e-3)
    np.testing.assert_allclose(got.dino_patch_mean, want["dino_patch_mean"], atol=1e-3)
    for g, w in zip(got.detections, want["detections"], strict=True):
        np.testing.assert_allclose(g, w, atol=1e-2)


def test_clip_embeddings_are_unit_length(client, small_sprite):
    got = client.tag_frames(*small_sprite)
    np.testing.assert_allclose(np.linalg.norm(got.clip, axis=1), 1.0, atol=1e-5)


def test_concurrent_sprites_are_batched(client, triton_admin, small_sprite):
    """Requests from several 'scenes' in flight at once share executions of the slowest model.

    (YOLO at 640² is the bottleneck of the tiny preset; faster models find no queue to merge.)
    """
    jpeg, rects = small_sprite
    before = _stats(triton_admin, "yolo")
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: client.tag_frames(jpeg, rects), range(16)))
    deadline = time.monotonic() + 10  # Triton's statistics can trail the responses
    while (after := _stats(triton_admin, "yolo"))[0] - before[0] < 16 * len(rects):
        if time.monotonic() > deadline:
            break
        time.sleep(0.05)
    inferences = after[0] - before[0]
    executions = after[1] - before[1]
    assert inferences == 16 * len(rects)
    assert executions < 16, f"{executions} executions for 16 requests: no dynamic batching"
    first = results[0].clip
    for r in results[1:]:
        np.testing.assert_allclose(r.clip, first, atol=1e-5)


def _stats(admin, model: str) -> tuple[int, int]:
    return settled(lambda: counts(admin, model))


@pytest.mark.parametrize("frames", [1, 81])
def test_frame_counts(client, frames):
    from stashtag.demo.samples import encode_jpeg, sprite_sheet
    from stashtag_client.frames.sprites import grid_rects

    sheet = sprite_sheet(seed=9)
    rects = grid_rects(sheet.shape[1], sheet.shape[0])[:frames]
    got = client.tag_frames(encode_jpeg(sheet), rects)
    assert got.clip.shape[0] == got.dino_cls.shape[0] == len(got.detections) == frames
