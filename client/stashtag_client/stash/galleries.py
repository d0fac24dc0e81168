"""Tag Stash galleries from their images' stored results: no inference of their own.

A gallery gets a tag when at least ``gallery_share`` of its images that stashtag tagged carry it
(and at least two do, unless the gallery has one tagged image). Images must be tagged first
(*Tag images*); the gallery's tags follow the same policy and strategy as everything else.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from stashtag_client.stash.sync import StashSync
from stashtag_client.stash.workflow import SceneReport
from stashtag_client.tagging.mapping import SceneResult, TagHit


def gallery_result(gallery_id: str, images: list[SceneResult], share: float) -> SceneResult:
    """The gallery's tags: those on at least ``share`` of its images (scores = that share)."""
    result = SceneResult(gallery_id, frames=len(images), time_basis="still")
    counts = Counter(h.name for r in images for h in r.tags)
    parents = {h.name: h.parent for r in images for h in r.tags}
    need = min(2, len(images))
    for name, n in counts.most_common():
        if n >= need and n / len(images) >= share:
            result.tags.append(
                TagHit(name, parents[name], round(n / len(images), 4), "gallery", ())
            )
    return result


def tag_galleries(
    galleries: StashSync,
    images: StashSync,
    progress: Callable[[float], None] | None = None,
) -> list[SceneReport]:
    """Apply each gallery's aggregated tags (``galleries`` and ``images``: syncs of those kinds
    over the same store)."""
    tagset = images.tagset()
    share = galleries.settings.gallery_share
    found = galleries.scenes("all")
    reports = []
    for i, gallery in enumerate(found):
        records = [
            images.store.get(images.key(im.id), tagset.model_id)
            for im in galleries.client.find_images(gallery_ids=[gallery.id])
        ]
        results = [tagset.map(r) for r in records if r is not None]
        results = [r for r in results if not r.error]
        if not results:
            reports.append(SceneReport(gallery.id, "skipped", error="no tagged images yet"))
        else:
            result = gallery_result(gallery.id, results, share)
            reports.append(galleries.writer.apply(gallery, result, {}))
        if progress:
            progress((i + 1) / len(found))
    return reports
