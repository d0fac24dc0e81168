"""The web UI's build: type-checked, reproducible (the committed dist is what the sources
build to), and the bundle does what Stash expects of a plugin script — one IIFE that takes its
libraries from ``window.PluginApi`` and registers its routes and patches there."""

import json
import subprocess
from pathlib import Path

import pytest

UI = Path(__file__).resolve().parents[2] / "plugin" / "ui"


@pytest.fixture(scope="module")
def npm_ready():
    if not (UI / "node_modules" / "esbuild").is_dir():
        pytest.fail(f"{UI}/node_modules is missing: run `npm ci --prefix {UI}` (make test does)")


def _run(*cmd: str) -> subprocess.CompletedProcess:
    return subprocess.run(cmd, cwd=UI, capture_output=True, text=True, timeout=300)


def test_sources_type_check(npm_ready):
    done = _run("node", "node_modules/typescript/bin/tsc", "--noEmit", "-p", ".")
    assert done.returncode == 0, done.stdout + done.stderr


def test_committed_dist_is_what_the_sources_build(npm_ready):
    done = _run("node", "build.mjs", "--check")
    assert done.returncode == 0, done.stderr


# Runs the bundle in node against a recording PluginApi: what it registers, and that it needs
# nothing from the page but window.PluginApi.
PROBE = r"""
const calls = [];
const record = (kind) => (name) => calls.push([kind, name]);
const lib = new Proxy({}, { get: (t, k) => (k === "__esModule" ? false : function () {}) });
globalThis.window = {
  PluginApi: {
    React: lib, ReactDOM: lib,
    libraries: { ReactRouterDOM: lib, Bootstrap: lib, Apollo: { gql: () => ({}) } },
    register: { route: record("route") },
    patch: { before: record("before"), after: record("after"), instead: record("instead") },
    utils: { StashService: {} }, hooks: {},
  },
};
const before = new Set(Object.keys(globalThis));
require(process.argv[1]);
const leaked = Object.keys(globalThis).filter((k) => !before.has(k));
console.log(JSON.stringify({ calls, leaked }));
"""


def test_bundle_registers_its_pages_and_patches_through_plugin_api(npm_ready):
    done = _run("node", "-e", PROBE, str(UI / "dist" / "stashtag-ui.js"))
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["leaked"] == []  # Stash concatenates plugin scripts: nothing may leak
    assert sorted(map(tuple, out["calls"])) == [
        ("after", "MainNavBar.UtilityItems"),
        ("before", "ScenePage.TabContent"),
        ("before", "ScenePage.Tabs"),
        ("route", "/plugins/stashtag/duplicates"),
        ("route", "/plugins/stashtag/review"),
        ("route", "/plugins/stashtag/search"),
    ]
