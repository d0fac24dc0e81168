"""Triton model repositories: built one way (:func:`build_repository`), read through one typed
settings file (:class:`RepoSettings`), with one table of what each target accepts. Callers
import from here; the submodules are this package's own business."""

from stashtag.repo.build import BuildResult, BuildSpec, build_repository
from stashtag.repo.config_text import parse_config, render_config
from stashtag.repo.contents import (
    buckets_in_use,
    built_preset,
    built_target,
    int8_models,
    missing_files,
    repo_target,
    resolve_build,
    specs_for,
    write_configs,
)
from stashtag.repo.detectors import parse_detector_flag
from stashtag.repo.settings import SETTINGS_FILE, RepoSettings, SavedDetector
from stashtag.repo.targets import TARGET_OPTIONS

__all__ = [
    "SETTINGS_FILE",
    "TARGET_OPTIONS",
    "BuildResult",
    "BuildSpec",
    "RepoSettings",
    "SavedDetector",
    "buckets_in_use",
    "build_repository",
    "built_preset",
    "built_target",
    "int8_models",
    "missing_files",
    "parse_config",
    "parse_detector_flag",
    "render_config",
    "repo_target",
    "resolve_build",
    "specs_for",
    "write_configs",
]
