"""Studio from on-screen text: fuzzy matching of OCR lines against the studio names that refuses
to guess (short fragments, close seconds and ties), independent of any order."""

from __future__ import annotations

from dataclasses import dataclass

from stashtag_client.tagging.vocabulary import StudioSettings


@dataclass(frozen=True)
class StudioMatch:
    studio: str
    score: float  # rapidfuzz 0-100
    text: str  # the OCR text that matched (evidence)
    frame: int
    source: str = "sprite"  # what the text was read from: screenshot, video or sprite


def _chars(text: str) -> int:
    return sum(c.isalnum() for c in text)


def studio_candidates(
    ocr: list[dict], studios: list[str], settings: StudioSettings
) -> list[StudioMatch]:
    """Every studio some confident OCR line resembles, best first, each with its best evidence.

    A fragment shorter than ``settings.min_chars`` letters/digits counts only against studio
    names no longer than itself (``RED`` may name the studio ``RED``, not ``Red Light``). The
    ranking never depends on the order of ``studios`` or of the lines.
    """
    from rapidfuzz import fuzz, process, utils

    names = sorted(set(studios), key=lambda n: (n.casefold(), n))
    lengths = [_chars(utils.default_process(n)) for n in names]
    best: dict[str, StudioMatch] = {}
    for line in ocr:
        text = utils.default_process(line["text"])
        chars = _chars(text)
        if line["score"] < settings.min_text_score or chars < 3:
            continue
        found = process.extract(
            text,
            names,
            scorer=fuzz.WRatio,
            processor=utils.default_process,
            limit=None,
            score_cutoff=max(0.0, settings.min_score - settings.margin),
        )
        for name, score, i in found:
            if chars < min(settings.min_chars, lengths[i]):
                continue
            match = StudioMatch(
                name,
                round(float(score), 1),
                line["text"],
                line["frame"],
                line.get("source", "sprite"),
            )
            held = best.get(name)
            if held is None or _evidence_key(match) < _evidence_key(held):
                best[name] = match
    return sorted(best.values(), key=lambda m: (-m.score, m.studio.casefold(), m.studio))


def _evidence_key(m: StudioMatch) -> tuple:
    return (-m.score, -len(m.text), m.frame, m.source, m.text)


def match_studio(
    ocr: list[dict], studios: list[str], settings: StudioSettings
) -> tuple[StudioMatch | None, list[StudioMatch]]:
    """The studio the OCR text names, or none; with the candidates when it refused to choose.

    The best studio must reach ``settings.min_score`` and beat every other by more than
    ``settings.margin``; otherwise no studio is named and the close candidates come back.
    """
    if not studios or not settings.enabled:
        return None, []
    ranked = studio_candidates(ocr, studios, settings)
    if not ranked or ranked[0].score < settings.min_score:
        return None, []
    close = [m for m in ranked if m.score > ranked[0].score - settings.margin]
    if len(close) > 1:
        return None, close
    return ranked[0], []
