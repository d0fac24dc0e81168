"""Input-size buckets: YOLO and DINOv2 at about the frame's own resolution.

A Stash sprite cell is 160x90. Letterboxed into YOLO's 640² it becomes 16× its pixel count, and
squashed into DINOv2's 224² a distorted square: the models spend their time on pixels that do
not exist. Both graphs take any stride-aligned size, so ``preprocess`` sends each request at the
smallest size from a small fixed set (the *buckets*) that keeps the model at ``scale``× the
source or more, never above the model's native scale. The set is small and fixed because Triton
batches equal shapes only: sprites of one library fall into one bucket and still batch together.

Sizes are ``(width, height)``. ``scale`` 0 turns buckets off: every frame at the native square.
"""

from __future__ import annotations

import math

Size = tuple[int, int]

DEFAULT_BUCKET_SCALE = 2.0  # model pixels per source pixel: a 160x90 cell → YOLO at 320x192
# Frame shapes the buckets are cut for (landscape; each also portrait): HD video, SD video, square.
ASPECTS = ((16, 9), (4, 3), (1, 1))
YOLO_STRIDE = 32  # YOLOv8's coarsest head: sizes must be multiples of it
DINO_PATCH = 14


def _align(value: float, step: int) -> int:
    return max(step, math.ceil(value / step - 1e-9) * step)


def bucket_sizes(long_sides: tuple[int, ...], step: int) -> tuple[Size, ...]:
    """Every aspect of :data:`ASPECTS` at each long side, both orientations, short sides
    rounded up to ``step``; sorted by pixel count."""
    sizes = set()
    for long in long_sides:
        for a, b in ASPECTS:
            short = _align(long * b / a, step)
            sizes |= {(long, short), (short, long)}
    return tuple(sorted(sizes, key=lambda s: (s[0] * s[1], s)))


def yolo_buckets(native: int, scale: float) -> tuple[Size, ...]:
    """YOLO's letterbox buckets: half and full native long side (``scale`` 0: the square)."""
    if scale <= 0:
        return ((native, native),)
    return bucket_sizes((_align(native / 2, YOLO_STRIDE), native), YOLO_STRIDE)


def dino_buckets(native: int, scale: float) -> tuple[Size, ...]:
    """DINOv2's aspect buckets at its native long side (``scale`` 0: the square). DINOv2 sees
    a frame's shape, not a square squash of it; fewer patches on short frames."""
    if scale <= 0:
        return ((native, native),)
    return bucket_sizes((native,), DINO_PATCH)


def letterbox_bucket(frames: list[Size], buckets: tuple[Size, ...], scale: float) -> Size:
    """The smallest bucket each of ``frames`` fits into at ``scale``× (at most the scale that
    fits it into the largest bucket's long side, today's letterbox)."""
    native = max(max(b) for b in buckets)
    need_w = need_h = 0
    for w, h in frames:
        s = min(scale, native / max(w, h)) if scale > 0 else native / max(w, h)
        need_w, need_h = max(need_w, math.ceil(w * s - 1e-6)), max(need_h, math.ceil(h * s - 1e-6))
    fits = [b for b in buckets if b[0] >= need_w and b[1] >= need_h]
    return min(fits, key=lambda b: (b[0] * b[1], b)) if fits else max(buckets, key=_area)


def aspect_bucket(frames: list[Size], buckets: tuple[Size, ...]) -> Size:
    """The bucket whose shape is nearest the frames' (log aspect): DINOv2 squashes a frame into
    it with little distortion. Frames of different shapes share the square."""
    shapes = {round(math.log(w / h), 2) for w, h in frames}
    if len(shapes) > 1:
        return max(buckets, key=lambda b: (min(b) / max(b), _area(b)))
    ratio = shapes.pop()
    return min(buckets, key=lambda b: (abs(math.log(b[0] / b[1]) - ratio), -_area(b)))


def _area(size: Size) -> int:
    return size[0] * size[1]


def format_sizes(sizes: tuple[Size, ...]) -> str:
    """``320x192,640x640``: a config parameter."""
    return ",".join(f"{w}x{h}" for w, h in sizes)


def parse_sizes(text: str) -> tuple[Size, ...]:
    sizes = []
    for part in text.split(","):
        w, _, h = part.strip().partition("x")
        if not (w.isdigit() and h.isdigit()) or int(w) < 1 or int(h) < 1:
            raise ValueError(f"bucket {part!r}: expected WIDTHxHEIGHT, e.g. 320x192")
        sizes.append((int(w), int(h)))
    if not sizes:
        raise ValueError("no buckets given")
    return tuple(sizes)


class BucketChoice:
    """The sizes ``preprocess`` gives YOLO and DINOv2 for a request (from
    :meth:`PreprocessParams.bucket_choice <stashtag_core.modelspec.params.PreprocessParams>`)."""

    def __init__(
        self, scale: float, yolo_buckets: tuple[Size, ...], dino_buckets: tuple[Size, ...]
    ) -> None:
        self.scale, self.yolo_buckets, self.dino_buckets = scale, yolo_buckets, dino_buckets

    def yolo(self, frames: list[Size]) -> Size:
        return letterbox_bucket(frames, self.yolo_buckets, self.scale)

    def dino(self, frames: list[Size]) -> Size:
        return aspect_bucket(frames, self.dino_buckets)
