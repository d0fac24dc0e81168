"""Typed model parameters: every key a config carries is one a served model reads."""

from __future__ import annotations

import pytest

from stashtag.repo.config_text import config_parameters, model_config
from stashtag_core.modelspec import build_specs, with_device_resize
from stashtag_core.modelspec.detectors import nudenet_detector
from stashtag_core.modelspec.param_codec import Params
from stashtag_core.modelspec.params import (
    DetectorInput,
    DeviceResize,
    NmsParams,
    OcrParams,
    OrtRunner,
    PreprocessParams,
    TaggerParams,
    TextEncoderParams,
    TokenizeParams,
    TorchRunner,
    with_params,
)
from stashtag_core.presets import get_preset

# The classes each served module (or ensemble) reads its parameters with.
READERS: dict[str, tuple[type[Params], ...]] = {
    "stashtag.serving.preprocess_model": (PreprocessParams,),
    "stashtag.serving.ocr_model": (OcrParams,),
    "stashtag.serving.yolo_post_model": (NmsParams,),
    "stashtag.serving.tokenize_model": (TokenizeParams,),
    "tagger": (TaggerParams,),
    "clip_text": (),
    "torch": (TorchRunner, DeviceResize),
    "ort": (OrtRunner,),
}


def _repositories():
    preset = get_preset("small")
    for detectors in ((), (nudenet_detector(),)):
        for scale in (0.0, 2.0):
            specs = build_specs(preset, detectors=detectors, bucket_scale=scale)
            yield "python-ort", specs
            yield "python-torch", specs
            yield "python-torch", with_device_resize(specs)


def _readers(spec, target: str) -> tuple[type[Params], ...]:
    if spec.kind == "onnx":  # the client reads clip_text_encoder's logit scale too
        runner = READERS["torch" if target == "python-torch" and spec.plan else "ort"]
        return (*runner, TextEncoderParams) if spec.name == "clip_text_encoder" else runner
    return READERS[spec.module or spec.name]


def test_every_written_parameter_is_read_and_reads_back_the_same():
    checked = 0
    for target, specs in _repositories():
        for spec in specs:
            written = config_parameters(model_config(spec, target))
            read: dict[str, str] = {}
            for cls in _readers(spec, target):
                read |= cls.decode(written, spec.name).encode()
            assert read == written, f"{spec.name} on {target}"
            checked += 1
    assert checked > 60


def test_detector_inputs_round_trip_with_their_own_keys():
    params = PreprocessParams(
        320,
        640,
        224,
        detectors=(DetectorInput("nude", 320, "corner", 0, ((320, 192), (320, 320))),),
    )
    raw = params.encode()
    assert raw["detectors"] == "nude"
    assert raw["nude_letterbox"] == "320:corner:0" and raw["nude_buckets"] == "320x192,320x320"
    assert PreprocessParams.decode(raw) == params


def test_missing_and_bad_values_name_the_model_and_key():
    with pytest.raises(
        ValueError, match=r"model 'clip_tokenize'.*lacks parameter 'context_length'"
    ):
        TokenizeParams.decode({}, "clip_tokenize")
    with pytest.raises(ValueError, match=r"model 'yolo_post'.*'agnostic_nms'.*0 or 1"):
        NmsParams.decode({"agnostic_nms": "yes"}, "yolo_post")
    with pytest.raises(ValueError, match=r"'nude_letterbox'"):
        PreprocessParams.decode(
            {"clip_size": "1", "yolo_size": "1", "dino_size": "1", "detectors": "nude"}
        )
    # the limits' own checks apply when read back
    with pytest.raises(ValueError, match="max_frames"):
        OcrParams.decode({"max_frames": "0"}, "ocr")


def test_older_servers_keys_missing_mean_the_defaults():
    assert TaggerParams.decode({}) == TaggerParams(False, "unversioned", {})
    assert TextEncoderParams.decode({}).logit_scale == 100.0


def test_with_params_changes_only_its_keys_and_drops_what_becomes_none():
    spec = next(s for s in build_specs(get_preset("small")) if s.name == "yolo")
    resized = with_params(spec, DeviceResize, resize="letterbox:640")
    assert resized.parameters == {**spec.parameters, "resize": "letterbox:640"}
    assert with_params(resized, DeviceResize, resize=None).parameters == spec.parameters
