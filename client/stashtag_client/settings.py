"""One settings object for every way stashtag is run: CLI, Stash plugin, config file, env.

Each knob is declared once, here, with its default, its help, its ``STASHTAG_*`` environment
variable and, where the plugin has one, its Stash plugin setting. :meth:`Settings.load` layers the
sources, later ones winning: defaults, a config file (YAML, keys are the field names), the
environment, the plugin's settings, then the flags the user gave on the command line.
"""

from __future__ import annotations

import dataclasses
import os
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from stashtag_client.setting_forms import FLAGS, PLUGIN_FORMS
from stashtag_client.setting_values import (
    DEFAULT_TEMPLATE,
    SettingsError,
    coerce,
    in_flight,
    negate,
    percent,
    share_percent,
    suggest_mode,
    with_legacy_keys,
)

ENV_PREFIX = "STASHTAG_"
CONFIG_ENV = "STASHTAG_CONFIG"
STRATEGIES = ("append", "only-new", "replace-own", "overwrite")
MODES = ("apply", "suggest")


def setting(
    default: Any,
    help: str,
    plugin: str | None = None,
    from_plugin: Callable[[Any], Any] | None = None,
) -> Any:
    """A field: ``plugin`` names its Stash plugin setting; ``from_plugin`` converts that value
    (for settings whose plugin form differs, e.g. a "Disable markers" box)."""
    meta = {"help": help, "plugin": plugin, "from_plugin": from_plugin}
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class Settings:
    # --- Triton -----------------------------------------------------------------------------
    endpoints: str = setting(
        "127.0.0.1:8001", "Triton gRPC endpoint(s): host:port[=weight],...", "1_tritonEndpoints"
    )
    server_key: str = setting(
        "", "Key of a guarded Triton server (stashtag serve --key).", "2_tritonServerKey"
    )
    tls_ca: str = setting("", "PEM CA to trust for a TLS Triton server.", "3_tritonTlsCa")
    max_in_flight: int = setting(16, "Requests in flight at most.", "4_requestsInFlight", in_flight)
    timeout_s: float = setting(600.0, "Seconds per request at first (doubled while busy).")
    attempts: int = setting(6, "Tries per request, across endpoints.")
    ocr_frames: str = setting(
        "ends:4", "Frames OCR reads: none | all | ends:K (full size from a video or screenshot)."
    )
    frame_budget: str = setting(
        "auto",
        "Frames each model sees: auto (CLIP every frame, YOLO and detectors every 3rd, DINOv2"
        " every 2nd) | all | model:n,... (e.g. yolo:2,dino:1,content:3).",
        "frameBudget",
    )
    interactive: bool = setting(False, "Ask the server to serve these requests before bulk jobs.")
    # --- what is tagged and how ---------------------------------------------------------------
    vocabulary: str = setting("", "Vocabulary YAML (empty: the shipped one).", "vocabulary")
    store: str = setting("stashtag.db", "Embedding store (SQLite).", "storePath")
    allow_tags: str = setting("", "Only apply these tags (comma-separated).", "allowTags")
    deny_tags: str = setting("", "Never apply these tags (comma-separated).", "denyTags")
    review_below: float = setting(
        0.0,
        "Suggest (not apply) tags scoring under this (0-1; 0: off).",
        "reviewBelowPercent",
        percent,
    )
    # --- Stash --------------------------------------------------------------------------------
    stash_url: str = setting("", "Stash base URL, e.g. http://localhost:9999.")
    stash_api_key: str = setting("", "Stash API key (Settings → Security).")
    stash_verify_tls: bool = setting(
        True, "Verify an https Stash's certificate (off: accept a self-signed one)."
    )
    mode: str = setting(
        "apply", "apply | suggest (tags under the review parent).", "suggestMode", suggest_mode
    )
    strategy: str = setting(
        "append", "append | only-new | replace-own | overwrite (docs/policy.md).", "strategy"
    )
    only_new_any: bool = setting(
        False, "only-new: skip scenes with any tag, not only stashtag's.", "onlyNewAnyTag"
    )
    allow_overwrite: bool = setting(
        False, "Let overwrite replace your own tags (saved; undo restores).", "allowOverwrite"
    )
    parent_tag: str = setting(
        "", "Parent of the tags stashtag creates (empty: the vocabulary's).", "parentTag"
    )
    review_parent: str = setting("AI Review", "Parent of review suggestions.")
    markers: bool = setting(True, "Write scene markers.", "noMarkers", negate)
    studio: bool = setting(True, "Set studios read from watermarks.", "noStudio", negate)
    overwrite_studio: bool = setting(False, "Replace a scene's studio.", "overwriteStudio")
    dry_run: bool = setting(False, "Report what would change; write nothing.", "dryRun")
    confirmed_learned: str = setting(
        "",
        "Learned tags to apply, comma-separated (* = all); others: suggested.",
        "confirmedLearned",
    )
    full_images: bool = setting(
        False, "Images: send the file, not Stash's thumbnail.", "fullImages"
    )
    gallery_share: float = setting(
        0.3,
        "Galleries: a tag on at least this share (0-1) of their images.",
        "galleryPercent",
        share_percent,
    )
    queue_new_scenes: bool = setting(
        False, "Hook: queue each new scene (AI_TagMe) for the next run.", "queueNewScenes"
    )
    tag_on_create: bool = setting(
        False, "Hook: tag a new scene at once once Stash made its sprite.", "tagOnCreate"
    )
    log_level: str = setting(
        "info", "Plugin log level: trace, debug, info, warning, error.", "logLevel"
    )
    # --- descriptions -------------------------------------------------------------------------
    describe: bool = setting(
        False, "Write a short description into empty scene details.", "describe"
    )
    describe_overwrite: bool = setting(
        False, "Describe also over details you wrote.", "describeOverwrite"
    )
    describe_template: str = setting(
        DEFAULT_TEMPLATE, "Template of a description.", "describeTemplate"
    )
    describe_endpoint: str = setting(
        "", "OpenAI-compatible local model server.", "describeEndpoint"
    )
    describe_model: str = setting("local-model", "Model name there.", "describeModel")
    describe_api_key: str = setting("", "Its API key.", "describeApiKey")
    describe_timeout_s: float = setting(60.0, "Seconds to wait for a description.")
    # --- learning -----------------------------------------------------------------------------
    learn_tags: str = setting("", "Tags to learn (comma-separated).", "learnTags")
    forget_tags: str = setting(
        "", "Learned tags to delete (comma-separated, * = all).", "forgetTags"
    )
    calibrate_min_labels: int = setting(
        3, "Labelled scenes a tag needs to be calibrated.", "calibrateMinLabels"
    )

    # --- loading ------------------------------------------------------------------------------
    @classmethod
    def load(
        cls,
        *,
        file: Path | str | None = None,
        env: Mapping[str, str] | None = None,
        plugin: Mapping[str, Any] | None = None,
        flags: Mapping[str, Any] | None = None,
        defaults: Mapping[str, Any] | None = None,
    ) -> Settings:
        """``defaults`` (over the built-in ones), then ``file`` (or ``$STASHTAG_CONFIG``),
        ``env``, ``plugin``, ``flags``; ``flags`` holds only what the user gave (``None``
        values are ignored)."""
        env = os.environ if env is None else env
        values: dict[str, Any] = dict(defaults or {})
        path = file or env.get(CONFIG_ENV)
        if path:
            values |= _from_file(Path(path))
        values |= _from_env(env)
        if plugin:
            values |= _from_plugin(plugin)
        if flags:
            values |= {
                k: _coerce_field(k, v, "flag --" + k.replace("_", "-"))
                for k, v in flags.items()
                if v is not None
            }
        settings = cls(**values)
        settings.check()
        return settings

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)

    def check(self) -> None:
        if self.strategy not in STRATEGIES:
            raise SettingsError(f"unknown strategy {self.strategy!r}: {', '.join(STRATEGIES)}")
        if self.mode not in MODES:
            raise SettingsError(f"unknown mode {self.mode!r}: {', '.join(MODES)}")
        if self.strategy == "overwrite" and not self.allow_overwrite:
            raise SettingsError(
                "strategy overwrite replaces your own tags (saved first; undo restores them): "
                "enable it explicitly (--allow-overwrite, or the plugin's Allow overwrite)"
            )
        if self.max_in_flight < 1 or self.attempts < 1 or self.timeout_s <= 0:
            raise SettingsError("max_in_flight and attempts must be ≥ 1, timeout_s > 0")
        for name, plugin_name in (
            ("review_below", "Review below (%)"),
            ("gallery_share", "Gallery share (%)"),
        ):
            value = getattr(self, name)
            if not 0 <= value <= 1:  # seen from Stash's settings page: 150 typed as a percentage
                raise SettingsError(
                    f"{name} must lie in 0..1 (the plugin's {plugin_name}: 0-100), not "
                    f"{value:g} ({value * 100:g} %)"
                )

    def learned_confirmed(self, name: str) -> bool:
        names = names_list(self.confirmed_learned)
        return "*" in names or name.casefold() in {n.casefold() for n in names}


def flag_of(name: str) -> str:
    """The flag of setting ``name`` (``--a/--no-a`` for a boolean)."""
    if name in FLAGS:
        return FLAGS[name]
    dashed = "--" + name.replace("_", "-")
    return f"{dashed}/--no-{name.replace('_', '-')}" if _TYPES[name] is bool else dashed


def setting_type(name: str) -> type:
    return _TYPES[name]


def help_of(name: str) -> str:
    """The help text of setting ``name`` (for flags)."""
    return _FIELDS[name].metadata["help"]


def settings_table() -> str:
    """Every setting as a Markdown table (docs/settings.md is this, checked by a test)."""
    rows = ["| setting | default | environment | Stash plugin | what |", "|---|---|---|---|---|"]
    for f in dataclasses.fields(Settings):
        plugin = f.metadata.get("plugin")
        rows.append(
            f"| `{f.name}` | `{f.default!r}` | `{ENV_PREFIX}{f.name.upper()}` | "
            f"{f'`{plugin}`' if plugin else '-'} | {f.metadata['help'].replace('|', '/')} |"
        )
    return "\n".join(rows) + "\n"


def plugin_keys() -> set[str]:
    """The Stash plugin settings that feed a setting (the manifest must declare these)."""
    return set(_BY_PLUGIN)


def manifest_settings() -> dict[str, dict[str, str]]:
    """The plugin manifest's ``settings:`` block, from the fields and :data:`PLUGIN_FORMS`."""
    return {
        key: {"displayName": name, "description": text, "type": kind}
        for key, (name, text, kind) in PLUGIN_FORMS.items()
    }


def names_list(text: str) -> list[str]:
    return [n.strip() for n in text.split(",") if n.strip()]


_FIELDS = {f.name: f for f in dataclasses.fields(Settings)}
_TYPES = typing.get_type_hints(Settings)
_BY_PLUGIN = {f.metadata["plugin"]: f for f in _FIELDS.values() if f.metadata.get("plugin")}
assert set(PLUGIN_FORMS) == set(_BY_PLUGIN), "every plugin setting has one form, and only those"


def _coerce_field(name: str, value: Any, source: str) -> Any:
    return coerce(_TYPES[name], value, source)


def _from_file(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except OSError as exc:
        raise SettingsError(f"{path}: cannot read the config file ({exc.strerror})") from None
    except yaml.YAMLError as exc:
        raise SettingsError(f"{path}: not YAML ({exc})") from None
    if not isinstance(data, dict):
        raise SettingsError(f"{path}: expected a mapping of settings")
    unknown = sorted(set(data) - set(_FIELDS))
    if unknown:
        raise SettingsError(f"{path}: unknown setting(s) {', '.join(map(str, unknown))}")
    return {k: _coerce_field(k, v, f"{path}: {k}") for k, v in data.items() if v is not None}


def _from_env(env: Mapping[str, str]) -> dict[str, Any]:
    out = {}
    for name in _FIELDS:
        var = ENV_PREFIX + name.upper()
        if var in env:
            out[name] = _coerce_field(name, env[var], var)
    return out


def _from_plugin(config: Mapping[str, Any]) -> dict[str, Any]:
    """Stash leaves settings the user never set out, and sends empty text as ""."""
    config = with_legacy_keys(dict(config))
    out = {}
    for key, value in config.items():
        f = _BY_PLUGIN.get(key)
        if f is None or value is None or value == "":
            continue
        convert = f.metadata.get("from_plugin")
        out[f.name] = _coerce_field(
            f.name, convert(value) if convert else value, f"plugin setting {key}"
        )
    return out
