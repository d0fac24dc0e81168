"""What a Stash run is told: its settings, the workflow tag names, and its per-item report."""

from __future__ import annotations

from dataclasses import dataclass, field

from stashtag_client.inference.transport import ServerAccess
from stashtag_client.tagging.descriptions import DescribeSettings
from stashtag_core.errors import StashtagError
from stashtag_core.protocol import PRIORITY_BULK, PRIORITY_INTERACTIVE

QUEUE_TAG, DONE_TAG, ERROR_TAG, INCORRECT_TAG = (
    "AI_TagMe",
    "AI_Tagged",
    "AI_Errored",
    "AI_Incorrect",
)
WORKFLOW_TAGS = (QUEUE_TAG, DONE_TAG, ERROR_TAG, INCORRECT_TAG)
ACCEPT_TAG, REJECT_TAG = "AI_Accept", "AI_Reject"  # the user's verdict on a scene's suggestions
REVIEW_TAGS = (ACCEPT_TAG, REJECT_TAG)
STRATEGIES = ("append", "only-new", "replace-own", "overwrite")


@dataclass
class SyncSettings:
    endpoints: str = "127.0.0.1:8001"
    mode: str = "apply"  # "apply": add tags; "suggest": tags go under a review parent
    # append | only-new | replace-own | overwrite (see docs/policy.md)
    strategy: str = "append"
    only_new_any: bool = False  # only-new: skip scenes with any tag, not only stashtag's
    allow_overwrite: bool = False  # overwrite replaces the user's tags: never by default
    full_images: bool = False  # images: send the file itself, not Stash's thumbnail
    describe: bool = False  # write a description into empty scene details
    describe_overwrite: bool = False  # ... also over the user's own details
    description: DescribeSettings = field(default_factory=DescribeSettings)
    gallery_share: float = 0.3  # galleries: a tag on at least this share of their images
    parent_tag: str = ""  # "" → the vocabulary's parent_tag
    review_parent: str = "AI Review"
    markers: bool = True
    studio: bool = True
    overwrite_studio: bool = False
    dry_run: bool = False
    max_in_flight: int = 8
    ocr_frames: str = "ends:4"
    server_key: str | None = None  # for a guarded Triton (else STASHTAG_SERVER_KEY)
    tls_ca: str | None = None  # PEM CA of a TLS Triton (else STASHTAG_TLS_CA)
    interactive: bool = False  # hooks: served before other instances' bulk jobs
    # learned tags applied as such; the others are only suggested (under the review parent)
    confirmed_learned: frozenset[str] | str = frozenset()  # names (casefolded) or "*"

    def check(self) -> None:
        if self.strategy not in STRATEGIES:
            raise StashtagError(f"unknown strategy {self.strategy!r}: {', '.join(STRATEGIES)}")
        if self.strategy == "overwrite" and not self.allow_overwrite:
            raise StashtagError(
                "strategy overwrite replaces your own tags (saved first; undo restores them): "
                "enable it explicitly (--allow-overwrite, or the plugin's Allow overwrite)"
            )

    def learned_confirmed(self, name: str) -> bool:
        c = self.confirmed_learned
        return c == "*" or name.casefold() in c

    @property
    def access(self) -> ServerAccess:
        priority = PRIORITY_INTERACTIVE if self.interactive else PRIORITY_BULK
        return ServerAccess.from_env(self.server_key, self.tls_ca, priority=priority)


@dataclass
class SceneReport:
    scene_id: str
    status: str  # "tagged", "skipped", "error", "dry-run"
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    markers: int = 0
    studio: str = ""
    description: str = ""
    error: str = ""
