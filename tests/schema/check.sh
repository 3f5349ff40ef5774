#!/usr/bin/env bash
# Validate every bundled spec against schema/*.schema.json with an independent validator
# (Python's check-jsonschema), and make sure that validator rejects a known-bad spec.
set -euo pipefail
cd "$(dirname "$0")/../.."
venv=target/pyenv
if [ ! -x "$venv/bin/check-jsonschema" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r tests/schema/requirements.txt
fi
cj="$venv/bin/check-jsonschema"
mapfile -t models < <(find models -mindepth 2 -name '*.yaml' -not -path 'models/providers/*' | sort)
"$cj" --schemafile schema/provider.schema.json models/providers/*.yaml
"$cj" --schemafile schema/model.schema.json "${models[@]}"
"$cj" --schemafile schema/monitoring.schema.json models/monitoring.yaml
"$cj" --schemafile schema/ir.schema.json generated/registry.json
for bad in unknown_field float_looking_cost enum_value_typo; do
  if "$cj" --schemafile schema/model.schema.json "tests/invalid/cases/$bad/models/acme/bad.yaml" >/dev/null 2>&1; then
    echo "check-jsonschema accepted the broken spec of case $bad" >&2
    exit 1
  fi
done
echo "schema: ${#models[@]} models, $(ls models/providers/*.yaml | wc -l) providers and monitoring.yaml valid; 3 broken specs rejected"
