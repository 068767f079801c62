"""kubernetes/schemas/derive.py: CRDs become strict kubeconform schemas, open only where the CRD is."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import yaml

DERIVE = Path(__file__).resolve().parents[4] / "kubernetes" / "schemas" / "derive.py"
_spec = importlib.util.spec_from_file_location("derive", DERIVE)
assert _spec is not None and _spec.loader is not None
derive = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(derive)

CRD = {
    "spec": {
        "group": "example.io",
        "names": {"kind": "Widget"},
        "versions": [
            {"name": "v1alpha1", "served": False, "schema": {"openAPIV3Schema": {"type": "object"}}},
            {
                "name": "v1",
                "served": True,
                "schema": {
                    "openAPIV3Schema": {
                        "type": "object",
                        "description": "A widget.",
                        "properties": {
                            "spec": {
                                "type": "object",
                                "properties": {
                                    "description": {"type": "string", "description": "a field of this name"},
                                    "config": {"type": "object", "x-kubernetes-preserve-unknown-fields": True},
                                    "raw": {"type": "string", "format": "byte", "x-kubernetes-preserve-unknown-fields": True},
                                },
                            },
                            "status": {"type": "object"},
                        },
                    }
                },
            },
        ],
    }
}


def schema() -> dict:
    schemas = derive.version_schemas(CRD)
    assert list(schemas) == ["example.io/widget_v1.json"], "only served versions"
    return schemas["example.io/widget_v1.json"]


def test_objects_with_properties_are_closed_and_descriptions_go() -> None:
    out = schema()
    assert out["additionalProperties"] is False
    assert out["properties"]["spec"]["additionalProperties"] is False
    assert "description" not in json.dumps(out["properties"]["spec"]["properties"]["description"])
    assert "description" in out["properties"]["spec"]["properties"], "a field called description stays"


def test_preserved_fields_stay_open_and_raw_json_takes_any_value() -> None:
    spec = schema()["properties"]["spec"]["properties"]
    assert "additionalProperties" not in spec["config"]
    assert spec["raw"] == {"x-kubernetes-preserve-unknown-fields": True}


def test_the_kind_is_pinned_metadata_allowed_and_status_dropped() -> None:
    out = schema()
    assert out["properties"]["apiVersion"]["enum"] == ["example.io/v1"]
    assert out["properties"]["kind"]["enum"] == ["Widget"]
    assert out["properties"]["metadata"] == {"type": "object"}
    assert "status" not in out["properties"]
    assert {"apiVersion", "kind", "metadata"} <= set(out["required"])


def test_main_writes_one_file_per_served_version(tmp_path: Path) -> None:
    crd = tmp_path / "widgets.yaml"
    crd.write_text(yaml.safe_dump(CRD))
    assert derive.main([str(tmp_path / "out"), str(crd)]) == 0
    written = json.loads((tmp_path / "out" / "example.io" / "widget_v1.json").read_text())
    assert written == schema()
