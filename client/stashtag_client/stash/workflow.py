"""Workflow and review tags stashtag reads and writes on Stash items, and its per-item report."""

from __future__ import annotations

from dataclasses import dataclass, field

QUEUE_TAG, DONE_TAG, ERROR_TAG, INCORRECT_TAG = (
    "AI_TagMe",
    "AI_Tagged",
    "AI_Errored",
    "AI_Incorrect",
)
WORKFLOW_TAGS = (QUEUE_TAG, DONE_TAG, ERROR_TAG, INCORRECT_TAG)
ACCEPT_TAG, REJECT_TAG = "AI_Accept", "AI_Reject"  # the user's verdict on a scene's suggestions
REVIEW_TAGS = (ACCEPT_TAG, REJECT_TAG)


@dataclass
class SceneReport:
    scene_id: str
    status: str  # "tagged", "skipped", "error", "dry-run"
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    markers: int = 0
    studio: str = ""
    studio_from: str = ""  # what the studio's text was read from (screenshot, video, sprite)
    description: str = ""
    error: str = ""
