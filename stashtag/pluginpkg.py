"""Package the Stash plugin for a plugin source: a zip plus the ``index.yml`` Stash reads."""

from __future__ import annotations

import datetime as dt
import hashlib
import zipfile
from pathlib import Path

import yaml

PLUGIN_DIR = Path(__file__).resolve().parent.parent / "plugin"
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


def build(out: Path, source: Path = PLUGIN_DIR) -> tuple[Path, Path]:
    """Write ``<out>/stashtag.zip`` and ``<out>/index.yml``; return both paths."""
    manifest = yaml.safe_load((source / f"{PLUGIN_ID}.yml").read_text())
    check_manifest(manifest)
    out.mkdir(parents=True, exist_ok=True)
    archive = out / f"{PLUGIN_ID}.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        for f in sorted(source.iterdir()):
            if f.is_file() and f.suffix in {".yml", ".py"}:
                # fixed timestamps: the same sources give the same zip and sha256
                info = zipfile.ZipInfo(f.name, date_time=(2026, 1, 1, 0, 0, 0))
                z.writestr(info, f.read_bytes())
    digest = hashlib.sha256(archive.read_bytes()).hexdigest()
    index = [
        {
            "id": PLUGIN_ID,
            "name": manifest["name"],
            "metadata": {"description": manifest.get("description", "")},
            "version": str(manifest["version"]),
            "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S"),
            "requires": [],
            "path": archive.name,
            "sha256": digest,
        }
    ]
    index_path = out / "index.yml"
    index_path.write_text(yaml.safe_dump(index, sort_keys=False))
    return archive, index_path
