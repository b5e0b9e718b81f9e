#!/usr/bin/env bash
# Static checks of the deployment files (called by `make lint`); works offline:
#   docker-compose.yml  -> docker-compose config -q
#   deploy/Dockerfile   -> hadolint
#   deploy/k8s/*.yaml   -> kubernetes-validate --strict (schemas ship with it)
#   the kustomize build -> kubernetes-validate again, when kubectl is installed
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

echo "== docker-compose config -q"
docker-compose --file docker-compose.yml config -q

echo "== hadolint deploy/Dockerfile"
uv run --frozen hadolint deploy/Dockerfile

echo "== kubernetes-validate deploy/k8s (kubernetes ${K8S_VERSION}, strict)"
manifests=()
for f in deploy/k8s/*.yaml; do
    # kustomization.yaml is kustomize's own config, not a Kubernetes resource.
    [ "$(basename "$f")" = "kustomization.yaml" ] || manifests+=("$f")
done
uv run --frozen kubernetes-validate --strict --quiet -k "$K8S_VERSION" "${manifests[@]}"

if command -v kubectl >/dev/null 2>&1; then
    echo "== kubectl kustomize deploy/k8s | kubernetes-validate"
    built="$(mktemp --suffix=.yaml)"
    trap 'rm -f "$built"' EXIT
    kubectl kustomize deploy/k8s >"$built"
    uv run --frozen kubernetes-validate --strict --quiet -k "$K8S_VERSION" "$built"
else
    echo "== kubectl not installed: skipping the kustomize build check"
fi

echo "lint-deploy: OK"
