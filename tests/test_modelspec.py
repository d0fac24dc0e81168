"""The model specs are the contract: the public models' tensors carry the names clients send."""

import numpy as np
import pytest

from stashtag_core.modelspec import (
    CLIP_TEXT,
    FRAME_MODELS,
    OCR,
    TAGGER,
    build_specs,
    frame_list,
    spec_by_name,
)
from stashtag_core.presets import PRESETS


@pytest.mark.parametrize("preset", sorted(PRESETS))
@pytest.mark.parametrize("interface", [TAGGER, OCR, CLIP_TEXT], ids=lambda i: i.model)
def test_public_models_carry_the_interface_names(preset, interface):
    spec = spec_by_name(build_specs(PRESETS[preset]), interface.model)
    assert tuple(t.name for t in spec.inputs if not t.optional) == interface.inputs
    assert tuple(t.name for t in spec.outputs) == interface.outputs
    optional = [t.name for t in spec.inputs if t.optional]  # per-model frame lists
    assert optional == ([frame_list(m) for m in FRAME_MODELS] if interface is TAGGER else [])


def test_feed_and_unpack_follow_the_declared_order():
    jpeg, rects = np.zeros(3, np.uint8), np.zeros((1, 4), np.int32)
    feed = TAGGER.feed(jpeg, rects)
    assert list(feed) == ["jpeg", "rects"] and feed["rects"] is rects
    answer = {name: i for i, name in enumerate(reversed(TAGGER.outputs))}
    assert TAGGER.unpack(answer) == tuple(answer[n] for n in TAGGER.outputs)
    with pytest.raises(ValueError, match="tagger takes 2 inputs, got 1"):
        TAGGER.feed(jpeg)
