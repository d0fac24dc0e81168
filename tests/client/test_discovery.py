"""Discovery: scene keys that survive any spelling of a path, videos paired with their sprites,
folders that cannot be read, and every file passed over named with its reason."""

import os
from pathlib import Path

import numpy as np
import pytest

from stashtag.demo.samples import write_sample
from stashtag_client.frames.discovery import Skipped, discover, scene_key
from stashtag_client.frames.scene_frames import OcrView, SceneFrames
from stashtag_client.frames.video import write_test_video
from stashtag_core.errors import InputError


def test_every_spelling_of_a_path_is_one_scene(tmp_path, monkeypatch):
    write_sample(tmp_path / "lib", "movie")
    (tmp_path / "alias").symlink_to(tmp_path / "lib")
    monkeypatch.chdir(tmp_path)
    spellings = [
        tmp_path / "lib",
        Path("lib"),
        Path("./lib/../lib"),
        tmp_path / "alias",
        Path("lib/movie_sprite.jpg"),
    ]
    keys = {s.scene for p in spellings for s in discover([p])}
    assert keys == {str(tmp_path / "lib" / "movie")}
    # one run given several spellings sends the scene once
    assert len(list(discover(spellings))) == 1


def test_a_sprite_stash_named_is_keyed_by_its_hash(tmp_path):
    write_sample(tmp_path / "a", "00ab12cd34ef5678")
    write_sample(tmp_path / "b", "00AB12CD34EF5678")
    keys = [s.scene for s in discover([tmp_path])]
    assert keys == ["00ab12cd34ef5678"]  # the same generated sprite copied elsewhere: one scene
    assert scene_key(tmp_path / "a" / "x_sprite.jpg", "sprite") == str(tmp_path / "a" / "x")


def test_a_video_beside_its_sprite_is_read_for_ocr_not_tagged_twice(tmp_path):
    write_sample(tmp_path, "movie", duration=4.0)
    write_test_video(tmp_path / "movie.mp4", seconds=4.0, size=(640, 360))
    write_test_video(tmp_path / "other.mp4", seconds=1.0)
    found = {Path(s.path).name: s for s in discover([tmp_path])}
    assert sorted(found) == ["movie_sprite.jpg", "other.mp4"]
    sprite = found["movie_sprite.jpg"]
    assert sprite.video == tmp_path / "movie.mp4"
    frames = sprite.load()
    views, note = frames.ocr_views(np.array([0, 80]))
    assert note == ""
    assert [v.source for v in views] == ["video"]
    np.testing.assert_array_equal(views[0].frames, [0, 80])
    assert views[0].rects[:, 2:].tolist() == [[640, 360], [640, 360]]  # full size, not 160 px


def test_pairs_and_orphans_are_judged_per_folder(tmp_path):
    write_sample(tmp_path / "a", "movie", duration=4.0)
    write_test_video(tmp_path / "a" / "movie.MP4", seconds=1.0)
    (tmp_path / "b").mkdir()
    write_test_video(tmp_path / "b" / "movie.mp4", seconds=1.0)  # another folder's movie
    (tmp_path / "b" / "movie_thumbs.vtt").write_text("WEBVTT\n")  # its sprite is in a/, not b/
    skipped: list[Skipped] = []
    found = {
        str(Path(s.path).relative_to(tmp_path)): s for s in discover([tmp_path], skipped=skipped)
    }
    assert sorted(found) == ["a/movie_sprite.jpg", "b/movie.mp4"]
    assert found["a/movie_sprite.jpg"].video == tmp_path / "a" / "movie.MP4"
    assert [(s.path.relative_to(tmp_path), s.reason) for s in skipped] == [
        (Path("b/movie_thumbs.vtt"), "thumbnails VTT without its sprite (*_sprite.jpg)")
    ]


def test_a_video_no_wider_than_the_cells_leaves_ocr_on_the_cells(tmp_path):
    write_sample(tmp_path, "movie", duration=4.0)
    write_test_video(tmp_path / "movie.mp4", seconds=4.0, size=(160, 90))
    frames = next(iter(discover([tmp_path]))).load()
    views, note = frames.ocr_views(np.array([0]))
    assert [v.source for v in views] == ["sprite"] and note == ""


def test_an_unreadable_video_falls_back_to_the_cells_with_a_note(tmp_path):
    write_sample(tmp_path, "movie", duration=4.0)
    (tmp_path / "movie.mkv").write_bytes(b"\x1aE\xdf\xa3 not really matroska")
    frames = next(iter(discover([tmp_path]))).load()
    views, note = frames.ocr_views(np.array([0, 1]))
    assert [v.source for v in views] == ["sprite"]
    assert "movie.mkv: cannot decode video" in note and note.endswith("read sprite frames")


def test_a_screenshot_replaces_the_cells():
    cells = np.array([[0, 0, 160, 90], [160, 0, 160, 90]], np.int32)
    shot = OcrView(
        b"\xff\xd8", np.array([[0, 0, 1280, 720]], np.int32), np.array([-1]), "screenshot"
    )
    frames = SceneFrames(
        "s", b"sprite", cells, np.zeros(2), "s.jpg", "vtt", ocr_finder=lambda _: [shot]
    )
    views, _ = frames.ocr_views(np.array([0, 1]))
    assert views == [shot]
    assert SceneFrames("s", b"x", cells, np.zeros(2), "s.jpg", "vtt").ocr_views(np.array([1]))[0][
        0
    ].frames.tolist() == [1]


def test_files_passed_over_are_reported_with_reasons(tmp_path):
    write_sample(tmp_path, "good")
    (tmp_path / "anim.gif").write_bytes(b"GIF89a")
    (tmp_path / "orphan_thumbs.vtt").write_text("WEBVTT\n")
    (tmp_path / "notes").write_text("x")
    (tmp_path / "gone.jpg").symlink_to(tmp_path / "nowhere.jpg")
    os.mkfifo(tmp_path / "pipe.mp4")
    (tmp_path / "loop").mkdir()
    (tmp_path / "loop" / "back").symlink_to(tmp_path / "loop")
    skipped: list[Skipped] = []
    found = list(discover([tmp_path], skipped=skipped))
    assert [Path(s.path).name for s in found] == ["good_sprite.jpg"]
    reasons = {s.path.name: s.reason for s in skipped}
    assert reasons == {
        "anim.gif": "not a video, image or sprite (.gif)",
        "orphan_thumbs.vtt": "thumbnails VTT without its sprite (*_sprite.jpg)",
        "notes": "not a video, image or sprite (no suffix)",
        "gone.jpg": "broken symlink",
        "pipe.mp4": "not a regular file (FIFO, socket or device)",
        "back": "folder already read through another link",
    }


def test_a_folder_that_cannot_be_listed_is_its_own_error(tmp_path, monkeypatch):
    write_sample(tmp_path / "a", "good")
    (tmp_path / "b").mkdir()
    real_scandir = os.scandir

    def scandir(path="."):
        if Path(path) == tmp_path / "b":  # root reads every folder: refuse this one by hand
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    found = list(discover([tmp_path]))
    assert [s.kind for s in found] == ["error", "sprite"]
    with pytest.raises(InputError, match=r"/b: cannot list folder \(Permission denied\)"):
        found[0].load()
