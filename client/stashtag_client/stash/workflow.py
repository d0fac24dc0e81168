"""Workflow and review tags stashtag reads and writes on Stash items, and its per-item report."""

from __future__ import annotations

from collections.abc import Callable
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
DUPLICATE_TAG = "AI_Duplicate"  # scenes found (or chosen in the UI) as copies of another


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


@dataclass
class Tally:
    """What a run did, in memory that does not grow with the library: counts, the first
    ``keep`` reports and the first ``keep`` errors; every report also goes to ``on_report``
    (a log line, a results file)."""

    keep: int = 1000
    on_report: Callable[[SceneReport], None] | None = None
    counts: dict[str, int] = field(default_factory=dict)
    reports: list[SceneReport] = field(default_factory=list)
    errors: list[SceneReport] = field(default_factory=list)

    def add(self, report: SceneReport) -> None:
        self.counts[report.status] = self.counts.get(report.status, 0) + 1
        if len(self.reports) < self.keep:
            self.reports.append(report)
        if report.status == "error" and len(self.errors) < self.keep:
            self.errors.append(report)
        if self.on_report is not None:
            self.on_report(report)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def failed(self) -> int:
        return self.counts.get("error", 0)
