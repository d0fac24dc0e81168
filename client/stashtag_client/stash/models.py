"""Stash's scenes, images and galleries as stashtag reads them, with the GraphQL fields asked."""

from __future__ import annotations

from dataclasses import dataclass, field

SCENE_FIELDS = """
id title details
files { path duration width height fingerprint(type: "oshash") }
paths { sprite vtt screenshot }
tags { id name }
studio { id name }
"""


@dataclass
class StashScene:
    id: str
    title: str
    path: str | None
    duration: float | None
    oshash: str | None
    sprite_url: str | None
    vtt_url: str | None
    tags: dict[str, str] = field(default_factory=dict)  # id → name
    studio: tuple[str, str] | None = None  # (id, name)
    details: str = ""
    screenshot_url: str | None = None  # the cover: a full-size frame (or Stash's placeholder)

    @classmethod
    def from_gql(cls, s: dict) -> StashScene:
        f = (s.get("files") or [{}])[0]
        paths = s.get("paths") or {}
        studio = s.get("studio")
        return cls(
            id=str(s["id"]),
            title=s.get("title") or "",
            path=f.get("path"),
            duration=f.get("duration"),
            oshash=f.get("fingerprint"),
            sprite_url=paths.get("sprite"),
            vtt_url=paths.get("vtt"),
            tags={t["id"]: t["name"] for t in s.get("tags") or []},
            studio=(studio["id"], studio["name"]) if studio else None,
            details=s.get("details") or "",
            screenshot_url=paths.get("screenshot"),
        )


IMAGE_FIELDS = """
id title
visual_files { ... on ImageFile { path width height } }
paths { thumbnail image }
galleries { id }
tags { id name }
"""
GALLERY_FIELDS = "id title image_count tags { id name }"


@dataclass
class StashImage:
    id: str
    title: str
    path: str | None
    thumbnail_url: str | None
    image_url: str | None
    gallery_ids: list[str] = field(default_factory=list)
    tags: dict[str, str] = field(default_factory=dict)  # id → name
    studio: None = None  # images get no studio from stashtag

    @classmethod
    def from_gql(cls, i: dict) -> StashImage:
        f: dict = next((v for v in i.get("visual_files") or [] if v), {})
        paths = i.get("paths") or {}
        return cls(
            id=str(i["id"]),
            title=i.get("title") or "",
            path=f.get("path"),
            thumbnail_url=paths.get("thumbnail"),
            image_url=paths.get("image"),
            gallery_ids=[g["id"] for g in i.get("galleries") or []],
            tags={t["id"]: t["name"] for t in i.get("tags") or []},
        )


@dataclass
class StashGallery:
    id: str
    title: str
    image_count: int
    tags: dict[str, str] = field(default_factory=dict)
    studio: None = None

    @classmethod
    def from_gql(cls, g: dict) -> StashGallery:
        return cls(
            str(g["id"]),
            g.get("title") or "",
            int(g.get("image_count") or 0),
            {t["id"]: t["name"] for t in g.get("tags") or []},
        )
