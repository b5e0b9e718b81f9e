"""A built overlay (kustomize output) is pinned to one release: every container runs the same
image with an explicit version (tag or digest, never `latest`), and the migration Job is named
after that version, so each release runs its own Job. Usage: check_k8s_release.py BUILT.yaml"""

from __future__ import annotations

import re
import sys

import yaml


def containers(doc: dict) -> list[dict]:
    spec = doc.get("spec", {})
    pod = spec.get("template", {}).get("spec", {}) if "template" in spec else {}
    return list(pod.get("containers", [])) + list(pod.get("initContainers", []))


def main(path: str) -> int:
    with open(path) as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    images = {c["image"] for d in docs for c in containers(d)}
    errors = []
    if len(images) != 1:
        errors.append(f"expected one image, found {sorted(images)}")
    image = sorted(images)[0] if images else ""
    match = re.fullmatch(
        r"[^@]+?(?::(?P<tag>[\w.-]+))?(?:@sha256:(?P<digest>[0-9a-f]{64}))?", image
    )
    version = (match and (match.group("tag") or match.group("digest"))) or ""
    if not version or version == "latest":
        errors.append(f"{image!r} is not pinned to a version (tag or digest, not latest)")
    jobs = [d["metadata"]["name"] for d in docs if d.get("kind") == "Job"]
    if jobs != [f"parley-migrate-{version}"]:
        errors.append(f"migration Job {jobs} should be named parley-migrate-{version}")
    for error in errors:
        print(f"{path}: {error}", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
