"""deploy/grafana-dashboard.json: valid JSON, and every Parley metric it queries exists."""

from __future__ import annotations

import json
import re
from pathlib import Path

from prometheus_client import REGISTRY

import parley_common.db
import parley_common.metrics  # noqa: F401

DASHBOARD = Path(__file__).resolve().parents[3] / "deploy" / "grafana-dashboard.json"
SUFFIXES = ("_bucket", "_count", "_sum", "_total")


def test_dashboard_queries_only_metrics_parley_exports() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]
    used = {name for expr in exprs for name in re.findall(r"\bparley_[a-z_]+", expr)}
    families = {family.name for family in REGISTRY.collect()}

    def exported(name: str) -> bool:
        return name in families or any(
            name.endswith(s) and name.removesuffix(s) in families for s in SUFFIXES
        )

    missing = {name for name in used if not exported(name)}
    assert not missing, missing
    assert len(used) >= 10
