"""Triton model repositories: built one way (:func:`build_repository`), read through one typed
settings file (:class:`RepoSettings`), with one table of what each target accepts."""

from stashtag.repo.build import BuildResult, BuildSpec, build_repository
from stashtag.repo.settings import SETTINGS_FILE, RepoSettings, SavedDetector
from stashtag.repo.targets import TARGET_OPTIONS

__all__ = [
    "SETTINGS_FILE",
    "TARGET_OPTIONS",
    "BuildResult",
    "BuildSpec",
    "RepoSettings",
    "SavedDetector",
    "build_repository",
]
