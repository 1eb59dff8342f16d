#!/usr/bin/env bash
# Checks the OpenAPI document the service serves with tools from outside
# the project (from PyPI, installed here into target/contract-venv):
#
#   1. openapi-spec-validator: the document is valid OpenAPI 3.1;
#   2. openapi-python-client: a client generates from it without a single
#      warning, every module of it imports, and it has one function module
#      per operation of the document (none left out).
#
#   bash tests/schemathesis/contract.sh target/schemathesis/openapi.json
#
# tests/schemathesis/run.sh calls this with the document it read from the
# running service. Fails (non-zero) on any error or warning. The client goes
# to target/contract/bayige_client.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
DOC="$(realpath "${1:?usage: contract.sh OPENAPI_JSON}")"
SPEC_VALIDATOR_VERSION="0.9.0"
CLIENT_VERSION="0.29.1"
VENV="$ROOT/target/contract-venv"
OUT="$ROOT/target/contract"

installed() {
    local list
    list="$("$VENV/bin/pip" list --disable-pip-version-check 2>/dev/null)" || return 1
    grep -Eq "^$1 +$2\$" <<<"$list"
}
if ! installed openapi-spec-validator "$SPEC_VALIDATOR_VERSION" || ! installed openapi-python-client "$CLIENT_VERSION"; then
    echo "== installing openapi-spec-validator $SPEC_VALIDATOR_VERSION and openapi-python-client $CLIENT_VERSION into $VENV"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check \
        "openapi-spec-validator==$SPEC_VALIDATOR_VERSION" "openapi-python-client==$CLIENT_VERSION"
fi

rm -rf "$OUT"
mkdir -p "$OUT"
echo "== openapi-spec-validator (OpenAPI 3.1): $DOC"
# On an error the validator prints the whole document after the message.
"$VENV/bin/openapi-spec-validator" --schema 3.1 "$DOC" >"$OUT/validate.log" 2>&1 || {
    head -c 600 "$OUT/validate.log"
    echo
    echo "FAIL: the document is not valid OpenAPI 3.1 (full output: $OUT/validate.log)" >&2
    exit 1
}

echo "== openapi-python-client: generating into $OUT"
# The generator formats its output with ruff, found on PATH (in the venv).
PATH="$VENV/bin:$PATH" "$VENV/bin/openapi-python-client" generate \
    --path "$DOC" --meta none --fail-on-warning \
    --config "$ROOT/tests/schemathesis/openapi-python-client.yaml" \
    --output-path "$OUT/bayige_client" >"$OUT/generate.log" 2>&1 || {
    cat "$OUT/generate.log"
    echo "FAIL: openapi-python-client could not generate a client without warnings" >&2
    exit 1
}

# openapi-python-client 0.29.1 (the newest) writes `body: A | B | Unset` for
# an operation that takes two request content types (record_visit: JSON, or
# multipart with photos) but imports only `UNSET`: add the missing import,
# and only that, so every module is still imported and checked below.
grep -rl --include='*.py' -E '\| Unset = UNSET' "$OUT/bayige_client/api" | while read -r module; do
    grep -q '^from \.\.\.types import .*\bUnset\b' "$module" ||
        sed -i 's/^from \.\.\.types import UNSET, Response$/from ...types import UNSET, Response, Unset/' "$module"
done

cd "$OUT"
"$VENV/bin/python" - "$DOC" <<'PY'
import importlib, json, pkgutil, sys

import bayige_client

modules = [m.name for m in pkgutil.walk_packages(bayige_client.__path__, "bayige_client.")]
for name in modules:
    importlib.import_module(name)
with open(sys.argv[1]) as f:
    doc = json.load(f)
methods = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}
ids = sorted(op["operationId"] for item in doc["paths"].values() for m, op in item.items() if m in methods)
generated = sorted(m.rsplit(".", 1)[1] for m in modules if m.startswith("bayige_client.api.") and m.count(".") == 3)
if generated != ids:
    sys.exit(f"FAIL: the client's operations differ from the document's:\n  client   {generated}\n  document {ids}")
print(f"   {len(modules)} modules import; one per operation ({len(ids)})")
PY
