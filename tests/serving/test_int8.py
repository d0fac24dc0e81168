"""A repository with int8 graphs (``repo build --int8``) served by Triton answers like fp32."""

import numpy as np

from stashtag.bench.triton_runs import int8_repo
from stashtag.server import ServerOptions, TritonServer, free_port
from stashtag_client.inference.triton import TritonClient
from stashtag_core.presets import get_preset
from stashtag_export.int8 import INT8_MIN_COSINE


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)


def test_int8_repository_serves_embeddings_close_to_fp32(client, tiny_repo, small_sprite, tmp_path):
    repo = tmp_path / "int8"
    assert int8_repo(tiny_repo, repo, get_preset("tiny"), log=print) == ["clip_image", "dinov2"]
    # the session repository's graphs were copied, not changed
    assert (repo / "dinov2" / "1" / "model.onnx").read_bytes() != (
        tiny_repo / "dinov2" / "1" / "model.onnx"
    ).read_bytes()
    jpeg, rects = small_sprite
    want = client.tag_frames(jpeg, rects, detectors=["content"])
    opts = ServerOptions(
        repo, free_port(), free_port(), free_port(), log_file=tmp_path / "int8.log"
    )
    with TritonServer(opts):
        got = TritonClient(opts.grpc_url).tag_frames(jpeg, rects, detectors=["content"])
    assert _cosines(got.clip, want.clip).min() >= INT8_MIN_COSINE
    assert _cosines(got.dino_cls, want.dino_cls).min() >= INT8_MIN_COSINE
    assert _cosines(got.dino_patch_mean, want.dino_patch_mean).min() >= INT8_MIN_COSINE
    # YOLO and the content detector stay fp32: the same detections
    for g, w in zip(got.detections, want.detections, strict=True):
        np.testing.assert_allclose(g, w, atol=1e-3)
    for g, w in zip(got.detected["content"], want.detected["content"], strict=True):
        np.testing.assert_allclose(g, w, atol=1e-3)
