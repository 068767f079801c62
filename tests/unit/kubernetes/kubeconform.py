"""kubeconform, pinned and installed on first use, checking manifests against kubernetes/schemas/.

The binary is built with `go install` from the Go module proxy into
<SKEWLESS_HOME>/tools/kubeconform-<version>/ and reused from there. Validation is offline: the
only schemas are the checked-in ones (the operators' CRDs and a few core kinds), so a kind
without a schema fails instead of being skipped. Where Go is missing, `validate` checks the same
schemas with the Python jsonschema package instead (`in_python`), so the manifests are never
left unchecked.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import yaml

from skewless.settings import load_settings

VERSION = "v0.7.0"
MODULE = "github.com/yannh/kubeconform/cmd/kubeconform"
REPO = Path(__file__).resolve().parents[3]
SCHEMAS = REPO / "kubernetes" / "schemas"
# CRD kinds by group (as kubernetes/schemas/derive.py writes them), then the core v1 kinds.
LOCATIONS = (
    f"{SCHEMAS}/{{{{.Group}}}}/{{{{.ResourceKind}}}}_{{{{.ResourceAPIVersion}}}}.json",
    f"{SCHEMAS}/core/{{{{.ResourceKind}}}}_{{{{.ResourceAPIVersion}}}}.json",
)
# Read once, at import: tests point SKEWLESS_HOME at temporary folders, the tool stays put.
TOOLS = load_settings().home / "tools" / f"kubeconform-{VERSION}"


class KubeconformUnavailable(RuntimeError):
    """Go is missing or the install failed; the message says which."""


def binary() -> Path:
    """The pinned kubeconform, installed if missing."""
    folder = TOOLS
    path = folder / "kubeconform"
    if path.is_file():
        return path
    go = shutil.which("go")
    if go is None:
        raise KubeconformUnavailable("Go is not on PATH; install Go 1.24+ to validate the Kubernetes manifests")
    folder.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        [go, "install", f"{MODULE}@{VERSION}"],
        env={**os.environ, "GOBIN": str(folder), "CGO_ENABLED": "0"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    if done.returncode != 0 or not path.is_file():
        raise KubeconformUnavailable(f"go install {MODULE}@{VERSION} failed:\n{done.stderr[-2000:]}")
    return path


@dataclass(frozen=True)
class Result:
    ok: bool
    resources: list[dict]  # kubeconform's JSON output: filename, kind, name, status, msg

    def failures(self) -> list[str]:
        """One line per resource that did not pass: file, kind, name, status and why."""
        return [
            f"{r['filename']}: {r['kind']} {r['name']}: {r['status']} {r.get('msg', '')}"
            for r in self.resources
            if r["status"] != "statusValid"
        ]


def validate(paths: list[Path]) -> Result:
    """Every document of `paths` against the checked-in schemas: kubeconform, else jsonschema."""
    try:
        return with_kubeconform(paths)
    except KubeconformUnavailable:
        return in_python(paths)


def with_kubeconform(paths: list[Path]) -> Result:
    """Every document of `paths` against the checked-in schemas, strictly (no unknown keys)."""
    command = [str(binary()), "-strict", "-output", "json", "-verbose"]
    for location in LOCATIONS:
        command += ["-schema-location", location]
    done = subprocess.run([*command, *map(str, paths)], capture_output=True, text=True, timeout=120)
    try:
        resources = json.loads(done.stdout)["resources"]
    except (ValueError, KeyError) as exc:
        said = f"{done.stdout}{done.stderr}"
        raise AssertionError(f"kubeconform said nothing readable (exit {done.returncode}):\n{said}") from exc
    return Result(done.returncode == 0, resources)


def schema_path(api_version: str, kind: str) -> Path:
    """The schema file kubeconform's LOCATIONS pick for a kind: by group for CRDs, core/ for v1."""
    group, _, version = api_version.rpartition("/")
    return SCHEMAS / (group or "core") / f"{kind.lower()}_{version}.json"


def in_python(paths: list[Path]) -> Result:
    """The same check with jsonschema: each document against its kind's schema."""
    from jsonschema import Draft202012Validator

    resources = []
    for path in paths:
        for doc in (d for d in yaml.safe_load_all(path.read_text()) if d is not None):
            kind, name = doc.get("kind", ""), (doc.get("metadata") or {}).get("name", "")
            schema = schema_path(str(doc.get("apiVersion", "")), str(kind))
            entry = {"filename": str(path), "kind": kind, "name": name, "status": "statusValid"}
            if not schema.is_file():
                entry.update(status="statusError", msg=f"could not find schema for {kind}")
            else:
                validator = Draft202012Validator(json.loads(schema.read_text()))
                errors = [f"{'/'.join(map(str, e.path))}: {e.message}" for e in validator.iter_errors(doc)]
                if errors:
                    entry.update(status="statusInvalid", msg="; ".join(sorted(errors)))
            resources.append(entry)
    return Result(all(r["status"] == "statusValid" for r in resources), resources)


if __name__ == "__main__":
    # `python -m tests.unit.kubernetes.kubeconform FILE...`: check manifests before applying them.
    import sys

    checked = validate([Path(arg) for arg in sys.argv[1:]])
    print("\n".join(checked.failures()) or f"{len(checked.resources)} resources valid")
    sys.exit(0 if checked.ok and checked.resources else 1)
