"""Prompt embeddings from the server's ``clip_text`` model, cached per model id in the store."""

from __future__ import annotations

import numpy as np

from stashtag_client.inference.transport import EndpointPool
from stashtag_client.store import Store
from stashtag_client.tagging.mapping import TextBank, build_text_bank
from stashtag_client.tagging.vocabulary import Vocabulary
from stashtag_core.errors import StashtagError
from stashtag_core.modelspec import CLIP_TEXT
from stashtag_core.modelspec.params import TextEncoderParams

PROMPT_CHUNK = 64
LOGIT_SCALE_KEY = "logit_scale"  # the store caches the server's under this meta key


async def server_logit_scale(pool: EndpointPool) -> float:
    params = next(iter((await pool.parameters("clip_text_encoder")).values()))
    return TextEncoderParams.decode(params, "clip_text_encoder").logit_scale


async def embed_prompts(
    pool: EndpointPool, store: Store, model_id: str, prompts: list[str]
) -> dict[str, np.ndarray]:
    """CLIP text embeddings of ``prompts``: from the cache, the rest from ``clip_text``."""
    cached = store.cached_text(model_id, prompts)
    missing = [p for p in prompts if p not in cached]
    for start in range(0, len(missing), PROMPT_CHUNK):
        chunk = missing[start : start + PROMPT_CHUNK]
        text = np.array([[p.encode("utf-8")] for p in chunk], dtype=np.object_)
        out = await pool.infer(CLIP_TEXT.model, CLIP_TEXT.feed(text), CLIP_TEXT.outputs)
        (embeddings,) = CLIP_TEXT.unpack(out)
        new = dict(zip(chunk, embeddings, strict=True))
        store.cache_text(model_id, new)
        cached.update(new)
    return cached


async def fetch_text_bank(
    pool: EndpointPool, store: Store, model_id: str, vocab: Vocabulary
) -> TextBank:
    """Embed the vocabulary's prompts not cached yet; cache them and the logit scale."""
    embeddings = await embed_prompts(pool, store, model_id, vocab.prompts())
    scale = store.meta(model_id, LOGIT_SCALE_KEY)
    if scale is None:
        scale = str(await server_logit_scale(pool))
        store.set_meta(model_id, LOGIT_SCALE_KEY, scale)
    return build_text_bank(vocab, embeddings, float(scale))


def cached_text_bank(store: Store, model_id: str, vocab: Vocabulary) -> TextBank:
    """The text bank from the cache alone (retag without a server); names missing prompts."""
    prompts = vocab.prompts()
    cached = store.cached_text(model_id, prompts)
    missing = [p for p in prompts if p not in cached]
    scale = store.meta(model_id, LOGIT_SCALE_KEY)
    if not prompts:  # only detection or learned tags: no text needed
        scale = scale or "100"
    if missing or scale is None:
        raise StashtagError(
            f"{len(missing)} prompt(s) have no cached embedding for model {model_id} "
            f"(e.g. {missing[:3]}); run with a server (--triton) once to embed them"
        )
    return build_text_bank(vocab, cached, float(scale))
