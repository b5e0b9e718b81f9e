#!/usr/bin/env bash
# Static checks of the deployment files (called by `make lint`); works offline:
#   docker-compose.yml  -> docker-compose config -q
#   deploy/Dockerfile, deploy/check/*.Dockerfile -> hadolint
#   deploy/k8s/base/*.yaml -> kubernetes-validate --strict (schemas ship with it)
#   each overlay's build   -> kubernetes-validate again, and pinned to one release
#                             (scripts/check_k8s_release.py), when kubectl is installed
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

# Kubernetes version whose schemas the manifests are checked against.
K8S_VERSION="${K8S_VERSION:-1.31.0}"

if ! command -v docker-compose >/dev/null 2>&1; then
    echo "lint-deploy: installing docker-compose (Debian package)" >&2
    if [ "$(id -u)" -eq 0 ]; then SUDO=""; else SUDO="sudo"; fi
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get install -y -q docker-compose >/dev/null 2>&1 || {
        $SUDO apt-get update -q >/dev/null
        $SUDO apt-get install -y -q docker-compose >/dev/null
    }
fi

echo "== docker-compose config -q (with .env.example)"
docker-compose --file docker-compose.yml --env-file .env.example config -q

echo "== hadolint deploy/Dockerfile deploy/check/*.Dockerfile"
uv run --frozen hadolint deploy/Dockerfile deploy/check/*.Dockerfile

echo "== kubernetes-validate deploy/k8s/base (kubernetes ${K8S_VERSION}, strict)"
manifests=()
for f in deploy/k8s/base/*.yaml; do
    # kustomization.yaml is kustomize's own config, not a Kubernetes resource.
    [ "$(basename "$f")" = "kustomization.yaml" ] || manifests+=("$f")
done
uv run --frozen kubernetes-validate --strict --quiet -k "$K8S_VERSION" "${manifests[@]}"

if command -v kubectl >/dev/null 2>&1; then
    built="$(mktemp -d)"
    trap 'rm -rf "$built"' EXIT
    for overlay in deploy/k8s/overlays/*/; do
        name="$(basename "$overlay")"
        echo "== kubectl kustomize deploy/k8s/overlays/${name} | kubernetes-validate, release pinning"
        kubectl kustomize "$overlay" >"$built/$name.yaml"
        uv run --frozen kubernetes-validate --strict --quiet -k "$K8S_VERSION" "$built/$name.yaml"
        uv run --frozen python scripts/check_k8s_release.py "$built/$name.yaml"
    done
else
    echo "== kubectl not installed: skipping the kustomize builds"
fi

echo "lint-deploy: OK"
