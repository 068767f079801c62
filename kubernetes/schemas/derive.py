"""Derive kubeconform's JSON schemas from operator CRDs (run by hand when an operator is upgraded).

    python kubernetes/schemas/derive.py OUT_DIR crd.yaml [crd.yaml ...]

Each served version of each CRD becomes OUT_DIR/<group>/<kind>_<version>.json, the layout the
`-schema-location` template in tests/unit/kubernetes/kubeconform.py names. The schemas are made
strict (an object with listed properties refuses unlisted ones, unless the CRD preserves unknown
fields), so a misspelt key fails validation instead of being ignored the way the API server
would prune it. Descriptions and the status subtree are dropped: manifests never carry a
status, and without prose the files are a tenth of the size.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import yaml

PRESERVE = "x-kubernetes-preserve-unknown-fields"


def strict(node: Any, field_names: bool = False) -> Any:
    """A copy of an openAPIV3Schema node, without descriptions, closed where the CRD is closed.

    `field_names`: the node is a `properties` map, whose keys are fields (one may be called
    "description") rather than schema keywords.
    """
    if isinstance(node, list):
        return [strict(item) for item in node]
    if not isinstance(node, dict):
        return node
    if field_names:
        return {key: strict(value) for key, value in node.items()}
    out = {key: strict(value, key == "properties") for key, value in node.items() if key != "description"}
    if out.get(PRESERVE) and out.get("type") not in (None, "object"):
        # A raw-JSON field (cass-operator's `config` is declared a byte string): the API server
        # takes any JSON there, and the operator's own samples give an object.
        out.pop("type")
        out.pop("format", None)
    if "properties" in out and "additionalProperties" not in out and not out.get(PRESERVE):
        out["additionalProperties"] = False
    return out


def version_schemas(crd: dict) -> dict[str, dict]:
    """<group>/<kind>_<version>.json -> schema, for every served version of one CRD."""
    group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
    out = {}
    for version in crd["spec"]["versions"]:
        if not version.get("served", True):
            continue
        schema = dict(version["schema"]["openAPIV3Schema"])
        properties = {k: v for k, v in schema.get("properties", {}).items() if k != "status"}
        # Pin the two fields that pick the schema, so a file meant for another kind cannot pass.
        properties["apiVersion"] = {"type": "string", "enum": [f"{group}/{version['name']}"]}
        properties["kind"] = {"type": "string", "enum": [kind]}
        # Some generators (Fabric8, for the Flink operator) leave the object metadata out.
        properties.setdefault("metadata", {"type": "object"})
        schema["properties"] = properties
        schema["required"] = sorted({*schema.get("required", []), "apiVersion", "kind", "metadata"})
        out[f"{group}/{kind.lower()}_{version['name']}.json"] = strict(schema)
    return out


def main(argv: list[str]) -> int:
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    target = Path(argv[0])
    for path in argv[1:]:
        for name, schema in version_schemas(yaml.safe_load(Path(path).read_text())).items():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            (target / name).write_text(json.dumps(schema, indent=1, sort_keys=True) + "\n")
            print(name)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
