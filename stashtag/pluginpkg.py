"""Package the Stash plugin for a plugin source: a zip plus the ``index.yml`` Stash reads."""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
PLUGIN_DIR = ROOT / "plugin"
PLUGIN_ID = "stashtag"
# Keys Stash's plugin loader accepts at the top level of <id>.yml (others can break loading).
ALLOWED_KEYS = {
    "name",
    "description",
    "version",
    "url",
    "exec",
    "interface",
    "errLog",
    "tasks",
    "hooks",
    "settings",
    "ui",
    "requires",
}
SETTING_TYPES = {"STRING", "NUMBER", "BOOLEAN"}
MANIFEST = PLUGIN_DIR / f"{PLUGIN_ID}.yml"
SETTINGS_MARK = (
    "# Generated from client/stashtag_client/settings.py and setting_forms.py by\n"
    "# `stashtag plugin manifest`: edit that, not this.\n"
)


UI_ANSWERS = PLUGIN_DIR / "ui" / "src" / "answers.ts"


def generated_files() -> dict[Path, str]:
    """Every plugin file generated from a Python declaration, with the text it must have."""
    from stashtag_client.stash.answers import typescript

    return {MANIFEST: generated_manifest(), UI_ANSWERS: typescript()}


def generated_manifest(text: str | None = None) -> str:
    """The manifest with its version (``stashtag_core.__version__``) and its ``settings:``
    block (its last) made from the client's settings declaration."""
    import re

    import stashtag_core
    from stashtag_client.settings import manifest_settings

    text = MANIFEST.read_text(encoding="utf-8") if text is None else text
    text = re.sub(r"^version: .*$", f"version: {stashtag_core.__version__}", text, flags=re.M)
    head = text.split(SETTINGS_MARK)[0] if SETTINGS_MARK in text else text
    head = head[: head.index("\nsettings:\n") + 1] if "\nsettings:\n" in head else head
    block = yaml.safe_dump(
        {"settings": manifest_settings()}, sort_keys=False, allow_unicode=True, width=10**6
    )
    return head + SETTINGS_MARK + block


def check_manifest(manifest: dict) -> None:
    """Raise ``ValueError`` for anything Stash would refuse in the plugin manifest."""
    unknown = set(manifest) - ALLOWED_KEYS
    if unknown:
        raise ValueError(f"{PLUGIN_ID}.yml: keys Stash does not accept: {sorted(unknown)}")
    version = str(manifest.get("version", ""))
    if len(version.split(".")) != 3 or not all(p.isdigit() for p in version.split(".")):
        raise ValueError(f"{PLUGIN_ID}.yml: version must be x.y.z, got {version!r}")
    for key, spec in (manifest.get("settings") or {}).items():
        if spec.get("type") not in SETTING_TYPES:
            raise ValueError(f"{PLUGIN_ID}.yml: setting {key}: type must be one of {SETTING_TYPES}")
    for hook in manifest.get("hooks") or []:
        if not hook.get("triggeredBy"):
            raise ValueError(f"{PLUGIN_ID}.yml: hook {hook.get('name')!r} has no triggeredBy")


def release_time(root: Path = ROOT) -> dt.datetime:
    """When this release was made: the checkout's last commit (``SOURCE_DATE_EPOCH`` wins), so
    rebuilding the same release gives the same index ``date`` and the same wheels."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if not epoch:
        try:
            done = subprocess.run(
                ["git", "-C", str(root), "log", "-1", "--format=%ct"],
                capture_output=True,
                text=True,
                timeout=30,
            )
            epoch = done.stdout.strip() if done.returncode == 0 else ""
        except OSError:
            epoch = ""
    if not epoch:  # not a checkout: the manifest's own time
        epoch = str(int((PLUGIN_DIR / f"{PLUGIN_ID}.yml").stat().st_mtime))
    return dt.datetime.fromtimestamp(int(epoch), dt.UTC)


def client_wheels(out: Path, when: dt.datetime) -> list[Path]:
    """Wheels of stashtag-core and stashtag-client (built from copies: setuptools writes into
    the folder it builds), reproducible for a given release time."""
    skip = shutil.ignore_patterns("build", "*.egg-info", "__pycache__")
    with tempfile.TemporaryDirectory() as tmp:
        dists = [shutil.copytree(ROOT / d, Path(tmp) / d, ignore=skip) for d in ("core", "client")]
        env = {**os.environ, "SOURCE_DATE_EPOCH": str(max(int(when.timestamp()), 315532800))}
        done = subprocess.run(
            [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
             "--quiet", "--wheel-dir", str(out), *map(str, dists)],
            capture_output=True, text=True, env=env, timeout=600,
        )  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"building the client wheels failed:\n{done.stderr[-2000:]}")
    return sorted(out.glob("*.whl"))


def ui_files(manifest: dict, source: Path) -> list[tuple[str, Path]]:
    """(name in the zip, file) for the manifest's ``ui`` scripts and stylesheets: the built
    web UI (plugin/ui/dist, committed; ``make ui`` rebuilds it)."""
    ui = manifest.get("ui") or {}
    names = [n for kind in ("javascript", "css") for n in ui.get(kind) or []]
    local = [n for n in names if not n.startswith(("http://", "https://"))]
    missing = [n for n in local if not (source / n).is_file()]
    if missing:
        raise ValueError(f"{PLUGIN_ID}.yml names UI files that do not exist: {missing} (make ui)")
    return [(n, source / n) for n in local]


def build(out: Path, source: Path = PLUGIN_DIR) -> tuple[Path, Path]:
    """Write ``<out>/stashtag.zip`` (manifest, entry, bootstrap, hook, web UI, the client
    wheels) and ``<out>/index.yml``; return both paths."""
    manifest = yaml.safe_load((source / f"{PLUGIN_ID}.yml").read_text())
    check_manifest(manifest)
    out.mkdir(parents=True, exist_ok=True)
    when = release_time()
    stamp = (when.year, when.month, when.day, when.hour, when.minute, when.second)
    archive = out / f"{PLUGIN_ID}.zip"
    with tempfile.TemporaryDirectory() as tmp:
        wheels = client_wheels(Path(tmp), when)
        files = [f for f in sorted(source.iterdir()) if f.is_file() and f.suffix in {".yml", ".py"}]
        entries = [(f.name, f) for f in files] + ui_files(manifest, source)
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
            for name, f in entries + [(f"wheels/{w.name}", w) for w in wheels]:
                # fixed timestamps: the same release gives the same zip and sha256
                z.writestr(zipfile.ZipInfo(name, date_time=stamp), f.read_bytes())
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    index = [
        {
            "id": PLUGIN_ID,
            "name": manifest["name"],
            "metadata": {"description": manifest.get("description", "")},
            "version": str(manifest["version"]),
            "date": when.strftime("%Y-%m-%d %H:%M:%S"),
            "requires": [],
            "path": archive.name,
            "sha256": digest,
        }
    ]
    index_path = out / "index.yml"
    index_path.write_text(yaml.safe_dump(index, sort_keys=False))
    return archive, index_path
