"""Real photographs from the scikit-image wheel, as stills and as Stash-style sprite sheets.

The demo and the tests need pictures a real detector has something to say about; scikit-image
ships a few (``skimage/data``) under its own licence, so none is copied into this repository.
Only the files are read: ``skimage`` itself is never imported.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from stashtag_core.errors import StashtagError

# The photographs used, by the name scikit-image gives them.
PHOTOS = ("astronaut", "camera", "chelsea", "coffee", "motorcycle_left", "rocket")
SUFFIX = {"rocket": ".jpg"}
CELL_WIDTH = 160  # Stash's sprite cells are 160 px wide


def photo_dir() -> Path:
    """``skimage/data`` of the installed scikit-image, or an error saying what to install."""
    spec = importlib.util.find_spec("skimage")
    if spec is None or not spec.submodule_search_locations:
        raise StashtagError(
            "the real photographs come from the scikit-image wheel: pip install scikit-image"
        )
    return Path(spec.submodule_search_locations[0]) / "data"


def photo_path(name: str) -> Path:
    path = photo_dir() / f"{name}{SUFFIX.get(name, '.png')}"
    if not path.is_file():
        raise StashtagError(f"{path} is missing from the scikit-image package")
    return path


def photo(name: str) -> np.ndarray:
    """The photograph as RGB ``(H, W, 3)`` uint8 (grey ones repeated over three channels)."""
    from PIL import Image

    with Image.open(photo_path(name)) as img:
        return np.asarray(img.convert("RGB"))


def cell(image: np.ndarray, width: int = CELL_WIDTH) -> np.ndarray:
    """``image`` scaled to a sprite cell ``width`` px wide, as Stash's generator does."""
    import cv2

    h, w = image.shape[:2]
    height = max(1, round(h * width / w))
    return cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)


def photo_sprite(names: tuple[str, ...] = PHOTOS, cols: int = 3) -> tuple[np.ndarray, list]:
    """A sprite sheet of the photographs' cells (cells of one size: each photo is fitted into
    the first one's cell, grey-padded) and the ``x, y, w, h`` rectangle of each."""
    cells = [cell(photo(n)) for n in names]
    cw, ch = CELL_WIDTH, max(c.shape[0] for c in cells)
    rows = -(-len(cells) // cols)
    sheet = np.full((rows * ch, cols * cw, 3), 16, np.uint8)
    rects = []
    for i, c in enumerate(cells):
        x, y = (i % cols) * cw, (i // cols) * ch
        sheet[y : y + c.shape[0], x : x + c.shape[1]] = c
        rects.append((x, y, c.shape[1], c.shape[0]))
    return sheet, rects
