#!/usr/bin/env bash
# Generate Parley's API clients from an OpenAPI document and compile them strictly.
#   clients/generate.sh [DOCUMENT]   DOCUMENT: a file or a URL such as http://127.0.0.1:8000/openapi.json
#                                    (default: built from the services' code, no servers needed)
# Writes clients/generated/python/parley_client (openapi-python-client) and
# clients/generated/typescript/schema.d.ts (openapi-typescript, for openapi-fetch).
# Any generator warning fails the run: a warning means a part of the API went missing.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
out=$here/generated
mkdir -p "$out"
document=$out/openapi.json
if [[ -z "${1:-}" ]]; then
  (cd "$root" && uv run --frozen python scripts/openapi_document.py "$document")
elif [[ "$1" == http* ]]; then
  curl -fsS "$1" -o "$document"
elif [[ "$(realpath "$1")" != "$document" ]]; then
  cp "$1" "$document"
fi
[[ -d "$here/node_modules" ]] || npm ci --prefix "$here" --no-audit --no-fund

fail_on_warnings() {  # $1: what ran, $2: its output
  if grep -qiE "warn" <<<"$2"; then
    printf '%s\n' "$2" >&2
    echo "$1 reported warnings" >&2
    exit 1
  fi
}

rm -rf "$out/python"
output=$(uvx --from openapi-python-client==0.29.1 openapi-python-client generate \
  --path "$document" --output-path "$out/python" --config "$here/openapi-python-client.yaml" 2>&1)
fail_on_warnings openapi-python-client "$output"

mkdir -p "$out/typescript"
output=$(cd "$here" && npx --no-install openapi-typescript "$document" \
  -o "$out/typescript/schema.d.ts" 2>&1)
fail_on_warnings openapi-typescript "$output"

(cd "$root" && uv run --frozen mypy --strict --no-incremental \
  "$out/python/parley_client" "$here/examples/check.py")
(cd "$here" && npx --no-install tsc -p tsconfig.json)
echo "clients generated in $out"
