from pathlib import Path

import numpy as np
import pytest

from stashtag.processing.clip_tokenizer import ClipTokenizer

PROMPTS = [
    "a photo of a bedroom",
    "Outdoor POOL at night!!",
    "",
    "  lots   of\twhitespace \n here ",
    "café & crème brûlée — naïve",
    "emoji 🎬🔥 and numbers 12345",
    "it's they're we've I'm you'll he'd",
    "&amp; html &lt;escaped&gt;",
    "日本語のテキスト",
    "word " * 100,  # over the 77-token context: truncated, ends in EOT
]


@pytest.fixture(scope="module")
def tokenizers():
    import open_clip

    merges = Path(open_clip.__file__).parent / "bpe_simple_vocab_16e6.txt.gz"
    return ClipTokenizer(merges), open_clip.get_tokenizer("ViT-B-32")


@pytest.mark.parametrize("prompt", PROMPTS)
def test_matches_open_clip(tokenizers, prompt):
    ours, theirs = tokenizers
    np.testing.assert_array_equal(ours([prompt]), theirs([prompt]).numpy())


def test_batch_shape(tokenizers):
    ours, _ = tokenizers
    out = ours(PROMPTS)
    assert out.shape == (len(PROMPTS), 77) and out.dtype == np.int64
    assert (out[:, 0] == ours.sot).all()
