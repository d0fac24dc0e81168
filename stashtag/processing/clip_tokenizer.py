"""CLIP's byte-level BPE tokenizer in plain Python, so neither server nor client needs torch.

Reads the ``bpe_simple_vocab_16e6.txt.gz`` merges file that every open_clip model with the
default tokenizer uses (the exporter copies it beside the text model). Output matches
``open_clip.get_tokenizer(...)`` token for token; a test checks that.
"""

from __future__ import annotations

import gzip
import html
from functools import lru_cache
from itertools import pairwise
from pathlib import Path

import numpy as np

SOT, EOT = "<start_of_text>", "<end_of_text>"
_NUM_MERGES = 49152 - 256 - 2


@lru_cache(maxsize=1)
def byte_to_unicode() -> dict[int, str]:
    """Reversible byte → printable character map (keeps whitespace/control bytes out of BPE)."""
    printable = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1)]
    printable += range(ord("®"), ord("ÿ") + 1)
    table = {b: chr(b) for b in printable}
    extra = 0
    for b in range(256):
        if b not in table:
            table[b] = chr(256 + extra)
            extra += 1
    return table


def clean(text: str) -> str:
    """ftfy fix, double HTML unescape, collapse whitespace, lower case (open_clip's 'lower')."""
    import ftfy

    text = html.unescape(html.unescape(ftfy.fix_text(text))).strip()
    return " ".join(text.split()).lower()


class ClipTokenizer:
    """Encode prompts into fixed-length ``int64`` token id rows."""

    def __init__(self, merges_path: str | Path, context_length: int = 77) -> None:
        import regex

        with gzip.open(merges_path, "rt", encoding="utf-8") as f:
            lines = f.read().split("\n")
        merges = [tuple(m.split()) for m in lines[1 : _NUM_MERGES + 1]]
        chars = list(byte_to_unicode().values())
        vocab = chars + [c + "</w>" for c in chars] + ["".join(m) for m in merges] + [SOT, EOT]
        self.encoder = {tok: i for i, tok in enumerate(vocab)}
        self.ranks = {m: i for i, m in enumerate(merges)}
        self.sot, self.eot = self.encoder[SOT], self.encoder[EOT]
        self.context_length = context_length
        self._pattern = regex.compile(
            rf"{SOT}|{EOT}|'s|'t|'re|'ve|'m|'ll|'d|[\p{{L}}]+|[\p{{N}}]|[^\s\p{{L}}\p{{N}}]+",
            regex.IGNORECASE,
        )
        self._cache: dict[str, list[str]] = {SOT: [SOT], EOT: [EOT]}

    def _bpe(self, word: str) -> list[str]:
        if word in self._cache:
            return self._cache[word]
        parts = [*word[:-1], word[-1] + "</w>"]
        while len(parts) > 1:
            pairs = set(pairwise(parts))
            best = min(pairs, key=lambda p: self.ranks.get(p, _NUM_MERGES + 1))
            if best not in self.ranks:
                break
            merged, i = [], 0
            while i < len(parts):
                if i < len(parts) - 1 and (parts[i], parts[i + 1]) == best:
                    merged.append(parts[i] + parts[i + 1])
                    i += 2
                else:
                    merged.append(parts[i])
                    i += 1
            parts = merged
        self._cache[word] = parts
        return parts

    def encode(self, text: str) -> list[int]:
        """Token ids of ``text`` without start/end markers."""
        table = byte_to_unicode()
        ids: list[int] = []
        for word in self._pattern.findall(clean(text)):
            mapped = "".join(table[b] for b in word.encode("utf-8"))
            ids.extend(self.encoder[p] for p in self._bpe(mapped))
        return ids

    def __call__(self, texts: list[str]) -> np.ndarray:
        """``(len(texts), context_length)`` int64 ids; overlong prompts are cut, ending in EOT."""
        out = np.zeros((len(texts), self.context_length), dtype=np.int64)
        for row, text in zip(out, texts, strict=True):
            ids = [self.sot, *self.encode(text), self.eot][: self.context_length]
            ids[-1] = self.eot
            row[: len(ids)] = ids
        return out
