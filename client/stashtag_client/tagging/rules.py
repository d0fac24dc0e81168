"""Tagging policy and custom rules: what happens between the models' hits and Stash.

Order, per scene (the same in directory mode and for Stash):

1. The models' hits: CLIP and learned tags at their thresholds (a *priority* tag at the
   priority threshold instead), YOLO rules.
2. Custom rules, in file order, pass after pass until nothing changes. A rule sees the tags
   applied so far, every tag's scene score (also of tags that did not apply) and the COCO
   objects detected; it can add tags, remove tags and send tags to review. If the tags come
   back to a state seen before without settling, the rules form a loop: that is an error naming
   the rules, never a hang.
3. The deny list drops tags; an allow list, if set, keeps only its tags.
4. Tags scoring under ``review_below`` and tags a rule sent there become suggestions for review
   instead of being applied.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from stashtag_core.errors import StashtagError

MAX_PASSES = 100


class RuleLoopError(StashtagError):
    """The rules never settle for a scene."""


@dataclass(frozen=True)
class Rule:
    """``if_*`` conditions (all must hold) → ``add`` / ``remove`` / ``review`` actions.

    ``below``: a per-tag rule — it holds for each applied tag (of ``tags``, or any) whose scene
    score is under the value, and its ``review``/``remove`` act on that tag.
    """

    where: str  # "vocab.yml:40: rules[2]" for messages
    if_all: tuple[str, ...] = ()  # tags applied
    if_any: tuple[str, ...] = ()
    if_none: tuple[str, ...] = ()
    if_scores: tuple[tuple[str, float], ...] = ()  # scene score of tag > value
    if_objects: tuple[str, ...] = ()  # COCO classes detected in the scene
    below: float | None = None
    tags: tuple[str, ...] = ()  # per-tag rules: which tags (empty: any)
    add: tuple[str, ...] = ()
    remove: tuple[str, ...] = ()
    review: tuple[str, ...] | bool = ()  # tags to send to review (per-tag rules: True)
    parent: str | None = None  # Stash parent of the tags it adds


@dataclass(frozen=True)
class Policy:
    allow: frozenset[str] | None = None  # casefolded; None: everything
    deny: frozenset[str] = frozenset()
    priority: frozenset[str] = frozenset()
    priority_threshold: float | None = None
    review_below: float | None = None  # scene score under which a tag is only suggested

    def threshold(self, name: str, default: float) -> float:
        if self.priority_threshold is not None and name.casefold() in self.priority:
            return min(self.priority_threshold, default)
        return default


@dataclass
class RuleState:
    """Tags (casefolded name → (name, score, parent)) applied so far and sent to review."""

    applied: dict[str, tuple[str, float, str | None]]
    review: dict[str, tuple[str, float, str | None]] = field(default_factory=dict)
    fired: list[str] = field(default_factory=list)

    def key(self) -> tuple:
        return (tuple(sorted(self.applied)), tuple(sorted(self.review)))


def _holds(rule: Rule, state: RuleState, scores: dict[str, float], objects: set[str]) -> bool:
    on = state.applied
    return (
        all(t.casefold() in on for t in rule.if_all)
        and (not rule.if_any or any(t.casefold() in on for t in rule.if_any))
        and not any(t.casefold() in on for t in rule.if_none)
        and all(scores.get(t.casefold(), 0.0) > v for t, v in rule.if_scores)
        and all(o in objects for o in rule.if_objects)
    )


def _apply_rule(rule: Rule, state: RuleState, scores: dict[str, float], objects: set[str]) -> None:
    if rule.below is not None:
        wanted = {t.casefold() for t in rule.tags}
        for key, (name, score, parent) in list(state.applied.items()):
            if score < rule.below and (not wanted or key in wanted):
                del state.applied[key]
                if rule.review:
                    state.review[key] = (name, score, parent)
        return
    if not _holds(rule, state, scores, objects):
        return
    support = [state.applied[t.casefold()][1] for t in rule.if_all if t.casefold() in state.applied]
    score = round(min(support), 4) if support else 1.0
    for name in rule.add:
        state.applied.setdefault(name.casefold(), (name, score, rule.parent))
    for name in rule.remove:
        state.applied.pop(name.casefold(), None)
    for name in rule.review if isinstance(rule.review, tuple) else ():
        found = state.applied.pop(name.casefold(), None)
        if found:
            state.review[name.casefold()] = found


def run_rules(
    rules: tuple[Rule, ...],
    applied: dict[str, tuple[str, float, str | None]],
    scores: dict[str, float],
    objects: set[str],
) -> RuleState:
    """Apply ``rules`` to a scene's tags until they settle (see the module's order)."""
    state = RuleState(dict(applied))
    seen = {state.key()}
    for _ in range(MAX_PASSES):
        changed_by = []
        for rule in rules:
            k = state.key()
            _apply_rule(rule, state, scores, objects)
            if state.key() != k:
                changed_by.append(rule.where)
        if not changed_by:  # a whole pass without a change: settled
            return state
        state.fired += changed_by
        if state.key() in seen:
            raise RuleLoopError(
                "rules loop (the tags return to an earlier state without settling): "
                + "; ".join(dict.fromkeys(changed_by))
            )
        seen.add(state.key())
    raise RuleLoopError(f"rules did not settle in {MAX_PASSES} passes: {state.fired[-5:]}")


def with_overrides(
    policy: Policy,
    allow: list[str] | None = None,
    deny: list[str] | None = None,
    review_below: float | None = None,
) -> Policy:
    """``policy`` with lists from the command line or plugin settings: ``allow`` replaces the
    vocabulary's allow list, ``deny`` adds to its deny list."""
    import dataclasses

    return dataclasses.replace(
        policy,
        allow=frozenset(n.casefold() for n in allow) if allow else policy.allow,
        deny=policy.deny | {n.casefold() for n in deny or ()},
        review_below=policy.review_below if review_below is None else review_below,
    )
