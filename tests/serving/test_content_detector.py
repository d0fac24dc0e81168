"""NudeNet's real detector served in the tagger ensemble, on real photographs (scikit-image's).

Through the real Triton server: the served detections against NudeNet's own Python API on the
same files, the detections the issue names at full size and at Stash's 160 px sprite-cell size,
and the same answers whether a frame arrives alone or inside a sprite among other frames.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from stashtag.demo.photos import PHOTOS, cell, photo, photo_path, photo_sprite
from stashtag.demo.samples import encode_jpeg, sprite_sheet
from stashtag.detector_reference import compare, detections_as_dicts
from stashtag_client.frames.sprites import grid_rects
from stashtag_client.inference.triton import TritonClient
from stashtag_core.modelspec import nudenet_detector

CONTENT = nudenet_detector()
NOT_PEOPLE = ("chelsea", "coffee", "motorcycle_left", "rocket")


def png(image: np.ndarray) -> bytes:
    import cv2

    ok, data = cv2.imencode(".png", image[..., ::-1])
    assert ok
    return data.tobytes()


def served(client, encoded: bytes, rects) -> list[list[dict]]:
    got = client.tag_frames(encoded, np.asarray(rects, np.int32), detectors=["content"])
    return [detections_as_dicts(d, CONTENT) for d in got.detected["content"]]


def full(client, name: str) -> list[dict]:
    """One photograph sent as its own file (the bytes NudeNet reads), one frame."""
    h, w = photo(name).shape[:2]
    return served(client, photo_path(name).read_bytes(), [(0, 0, w, h)])[0]


def best(dets: list[dict], cls: str) -> dict | None:
    return max((d for d in dets if d["class"] == cls), key=lambda d: d["score"], default=None)


@pytest.mark.parametrize("name", PHOTOS)
def test_served_detections_match_nudenets_own_api(client, name):
    from nudenet import NudeDetector

    theirs = NudeDetector().detect(str(photo_path(name)))
    result = compare(full(client, name), theirs)
    assert result["missing"] == [] and result["extra"] == [], result
    assert result["max_box_px"] <= 2.0 and result["max_score_diff"] <= 0.02, result


@pytest.mark.parametrize("name", PHOTOS)
def test_input_size_buckets_keep_the_detections_of_the_square(tiny_repo, name):
    """Real weights on real photographs: NudeNet's graph at the photo's bucket (the frame's
    pixels at the same scale, less padding) finds what it finds at its 320² square."""
    import onnxruntime as ort

    from stashtag.detector_reference import detect_frames
    from stashtag_core.modelspec.buckets import DEFAULT_BUCKET_SCALE, letterbox_bucket, yolo_buckets

    session = ort.InferenceSession(str(tiny_repo / "content" / "1" / "model.onnx"))
    frame = photo(name)
    h, w = frame.shape[:2]
    bucket = letterbox_bucket([(w, h)], yolo_buckets(320, DEFAULT_BUCKET_SCALE), 2.0)
    square, bucketed = (
        detections_as_dicts(detect_frames(session, CONTENT, [frame], s)[0], CONTENT)
        for s in (320, bucket)
    )
    result = compare(bucketed, square)
    assert result["missing"] == [] and result["extra"] == [], (bucket, result)
    assert result["max_box_px"] <= 3.0 and result["max_score_diff"] <= 0.03, (bucket, result)
    if name not in NOT_PEOPLE:
        assert square  # people are found: the comparison is not of two empty lists


def test_faces_at_full_size(client):
    face = best(full(client, "astronaut"), "FACE_FEMALE")
    assert face and face["score"] > 0.5
    x, y, w, h = face["box"]  # Eileen Collins' face: about x 173-275, y 82-181 of 512²
    assert 160 < x < 190 and 70 < y < 95 and 90 < w < 115 and 85 < h < 110
    male = best(full(client, "camera"), "FACE_MALE")
    assert male and male["score"] > 0.5
    x, y, w, h = male["box"]  # the cameraman's face: about x 182-267, y 128-197
    assert 170 < x < 195 and 115 < y < 140


def test_face_in_a_sprite_cell(client):
    """At 160 px (a Stash sprite cell) the astronaut's face is still found, in cell pixels."""
    small = cell(photo("astronaut"))
    (dets,) = served(client, png(small), [(0, 0, *small.shape[1::-1])])
    face = best(dets, "FACE_FEMALE")
    assert face and face["score"] > 0.3, dets
    x, y, w, h = face["box"]
    assert 45 < x + w / 2 < 80 and 25 < y + h / 2 < 45  # the face's centre, scaled by 160/512


@pytest.mark.parametrize("size", ["full", "cell"])
def test_no_exposed_body_part_on_photographs_without_people(client, size):
    for name in NOT_PEOPLE:
        if size == "full":
            dets = full(client, name)
        else:
            small = cell(photo(name))
            (dets,) = served(client, png(small), [(0, 0, *small.shape[1::-1])])
        exposed = [d for d in dets if d["class"].endswith("_EXPOSED") and d["score"] > 0.5]
        assert exposed == [], (name, size, exposed)


def test_a_frame_alone_or_in_a_busy_sprite_gets_the_same_answer(client, triton):
    """Batching must not change results: the photographs' cells inside an 81-cell sprite
    (among synthetic scenes' frames) give the same detections sent alone and while other
    requests are in flight; each cell sent on its own gets its own input-size bucket (less
    padding below it than in the sprite's, which holds taller cells too) and the same
    detections up to that padding's effect."""
    sheet, rects = photo_sprite()
    alone = [
        served(client, png(sheet[y : y + h, x : x + w]), [(0, 0, w, h)])[0] for x, y, w, h in rects
    ]
    other = sprite_sheet(seed=5)  # 9×9 cells of 160×90
    big = np.zeros((max(other.shape[0], 2 * sheet.shape[0]), other.shape[1], 3), np.uint8)
    big[: other.shape[0]] = other
    big[-sheet.shape[0] :, : sheet.shape[1]] = sheet  # the photographs in the last rows
    offset = big.shape[0] - sheet.shape[0]
    cells = [r for r in grid_rects(other.shape[1], other.shape[0], 9, 9)][: 81 - len(rects)]
    mixed = [*cells, *[(x, y + offset, w, h) for x, y, w, h in rects]]
    encoded = png(big)
    noise = encode_jpeg(sprite_sheet(seed=9)[:270])  # other scenes: 3 rows of 9 cells
    patient = TritonClient(triton.options.grpc_url, timeout_s=600)  # 2 cores, 3 requests
    quiet = served(patient, encoded, mixed)[-len(rects) :]
    with ThreadPoolExecutor(2) as pool:
        busy = [pool.submit(served, patient, noise, grid_rects(1440, 270, 9, 3)) for _ in range(2)]
        inside = served(patient, encoded, mixed)[-len(rects) :]
        [f.result() for f in busy]
    for name, a, b, q in zip(PHOTOS, alone, inside, quiet, strict=True):
        assert [d["class"] for d in a] == [d["class"] for d in b] == [d["class"] for d in q], name
        for da, db, dq in zip(a, b, q, strict=True):
            assert abs(dq["score"] - db["score"]) < 1e-4, name  # batched or not: the same
            np.testing.assert_allclose(dq["box"], db["box"], atol=1e-2)
            assert abs(da["score"] - db["score"]) < 0.01, name  # another bucket's padding
            np.testing.assert_allclose(da["box"], db["box"], atol=1.0)


def test_export_metadata_records_source_and_parity(tiny_repo):
    meta = json.loads((tiny_repo / "content" / "1" / "meta.json").read_text())
    assert meta["package"].startswith("nudenet ") and len(meta["sha256"]) == 64
    assert meta["weights"] == "real" and "AGPL" in meta["licence"]
    reference = meta["reference_parity"]
    assert reference["all_matched"] and reference["max_score_diff"] <= 0.02
    assert set(reference["images"]) == {photo_path(n).name for n in PHOTOS}
