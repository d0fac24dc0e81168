"""Deployment files: no Docker engine runs here, so every Dockerfile is linted with hadolint,
the compose files are checked against the compose specification's schema and the Kubernetes
manifests against Kubernetes' own schemas, plus the settings that matter to us."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
DOCKER = ROOT / "docker"
DOCKERFILES = sorted(DOCKER.glob("*.Dockerfile"))
COMPOSE = [DOCKER / "compose.yml", DOCKER / "compose.cpu.yml"]
K8S = DOCKER / "k8s" / "stashtag.yaml"
HEALTH = "/v2/health/ready"


def _tool(name: str) -> str:
    path = shutil.which(name, path=str(Path(sys.executable).parent))
    assert path, f"{name} is missing: install the [dev] extra"
    return path


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_dockerfile_lints_clean(dockerfile):
    result = subprocess.run(
        [_tool("hadolint"), "--no-color", str(dockerfile)], capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_does_fail(tmp_path):
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python\nRUN cd /tmp && pip install requests\n")
    result = subprocess.run([_tool("hadolint"), str(bad)], capture_output=True, text=True)
    assert result.returncode != 0 and "DL3003" in result.stdout  # cd in RUN


def test_images_serve_safely():
    serve = (DOCKER / "serve.Dockerfile").read_text()
    assert "FROM nvcr.io/nvidia/tritonserver:${TRITON_RELEASE}-py3" in serve
    assert "ARG TRITON_RELEASE=25.01" in serve  # a pinned NGC release
    assert '"stashtag", "serve"' in serve and "/opt/tritonserver/bin/tritonserver" in serve
    for f in DOCKERFILES:
        text = f.read_text()
        assert "HEALTHCHECK" in text or "ENTRYPOINT" in text
        if f.name != "client.Dockerfile":  # the sidecar carries the light client only
            assert "COPY stashtag ./stashtag" in text
    client = (DOCKER / "client.Dockerfile").read_text()
    assert "FROM python:3.12-alpine" in client and "--only-binary=:all:" in client
    assert "COPY stashtag " not in client and "USER 10001" in client


def _check_schema(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [_tool("check-jsonschema"), "--builtin-schema", "vendor.compose-spec", str(path)],
        capture_output=True,
        text=True,
    )


@pytest.mark.parametrize("compose", COMPOSE, ids=lambda p: p.name)
def test_compose_matches_the_spec(compose):
    result = _check_schema(compose)
    assert result.returncode == 0, result.stdout + result.stderr
    doc = yaml.safe_load(compose.read_text())
    triton = doc["services"]["triton"]
    assert {p.split(":")[0].strip('"') for p in triton["ports"]} == {"8000", "8001", "8002"}
    assert HEALTH in " ".join(triton["healthcheck"]["test"])
    assert "STASHTAG_SERVER_KEY" in triton["environment"]


def test_compose_schema_check_does_fail(tmp_path):
    doc = yaml.safe_load(COMPOSE[0].read_text())
    doc["services"]["triton"]["ports"] = {"http": 8000}  # must be a list
    bad = tmp_path / "compose.yml"
    bad.write_text(yaml.safe_dump(doc))
    assert _check_schema(bad).returncode != 0


def test_gpu_compose_exports_then_serves():
    doc = yaml.safe_load(COMPOSE[0].read_text())
    export, triton = doc["services"]["export"], doc["services"]["triton"]
    assert triton["depends_on"]["export"]["condition"] == "service_completed_successfully"
    for service in (export, triton):
        (device,) = service["deploy"]["resources"]["reservations"]["devices"]
        assert device["driver"] == "nvidia" and device["capabilities"] == ["gpu"]
    assert "models:/models:ro" in triton["volumes"] and "models:/models" in export["volumes"]


def _k8s(version: str = "1.30.0") -> list:
    import kubernetes_validate

    docs = [d for d in yaml.safe_load_all(K8S.read_text()) if d]
    for doc in docs:
        kubernetes_validate.validate(doc, version, strict=True)
    return docs


def test_kubernetes_manifests_validate():
    docs = {d["kind"]: d for d in _k8s()}
    assert set(docs) == {"PersistentVolumeClaim", "Job", "Deployment", "Service"}
    pod = docs["Deployment"]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["readinessProbe"]["httpGet"]["path"] == HEALTH
    assert container["resources"]["limits"]["nvidia.com/gpu"] == 1
    assert docs["Deployment"]["spec"]["replicas"] >= 2
    labels = docs["Deployment"]["spec"]["template"]["metadata"]["labels"]
    assert docs["Service"]["spec"]["selector"].items() <= labels.items()


def test_kubernetes_validation_does_fail():
    import kubernetes_validate
    from kubernetes_validate.utils import ValidationError

    doc = next(d for d in yaml.safe_load_all(K8S.read_text()) if d["kind"] == "Deployment")
    doc["spec"]["replicas"] = "two"
    with pytest.raises(ValidationError):
        kubernetes_validate.validate(doc, "1.30.0", strict=True)
