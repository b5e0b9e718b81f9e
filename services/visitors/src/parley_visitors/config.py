"""Visitors service settings (environment variables with the PARLEY_ prefix)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from parley_common.settings import Settings


class VisitorsSettings(Settings):
    # A visitor is inactive after this much silence (no heartbeat, no page view).
    visitors_inactive_after_seconds: int = 60
    visitors_sweep_interval_seconds: float = 5.0
    # Browsing history kept per visitor; older page views are dropped.
    visitors_page_views_per_visitor: int = 200
    # CSV of `first_ip,last_ip,country_code` rows (e.g. DB-IP "IP to Country Lite");
    # no file, no country.
    visitors_geoip_csv: Path | None = None


@lru_cache
def get_visitors_settings() -> VisitorsSettings:
    return VisitorsSettings()
