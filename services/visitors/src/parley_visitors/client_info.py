"""What a widget request says about its visitor: device, country, referrer, campaign."""

from __future__ import annotations

import bisect
import csv
import ipaddress
import logging
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

from ua_parser import parse as parse_user_agent

log = logging.getLogger("parley.visitors")

UTM_KEYS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
_TABLET_HINTS = ("ipad", "tablet", "kindle", "playbook", "nexus 7", "nexus 9", "sm-t")
_BOTS = ("bot", "spider", "crawler")


@dataclass(frozen=True)
class Device:
    browser: str | None
    os: str | None
    device_type: str  # desktop, mobile, tablet, bot


def parse_device(user_agent: str) -> Device:
    result = parse_user_agent(user_agent[:512])
    browser = result.user_agent.family if result.user_agent else None
    os_family = result.os.family if result.os else None
    device = result.device.family if result.device else ""
    lowered = user_agent.lower()
    if device == "Spider" or any(word in lowered for word in _BOTS):
        kind = "bot"
    elif any(hint in lowered for hint in _TABLET_HINTS) or (
        "android" in lowered and "mobile" not in lowered
    ):
        kind = "tablet"
    elif "mobi" in lowered or os_family in ("iOS", "Android"):
        kind = "mobile"
    else:
        kind = "desktop"
    return Device(
        browser if browser != "Other" else None, os_family if os_family != "Other" else None, kind
    )


def utm_parameters(url: str) -> dict[str, str]:
    query = urlsplit(url).query
    return {k: v[:200] for k, v in parse_qsl(query) if k in UTM_KEYS and v}


class CountryLookup:
    """IP ranges to ISO country codes from a CSV file (``first_ip,last_ip,country``)."""

    def __init__(self, starts: list[int], ends: list[int], countries: list[str]) -> None:
        self._starts, self._ends, self._countries = starts, ends, countries

    @classmethod
    def empty(cls) -> CountryLookup:
        return cls([], [], [])

    @classmethod
    def from_csv(cls, path: Path | None) -> CountryLookup:
        if path is None:
            return cls.empty()
        rows: list[tuple[int, int, str]] = []
        with path.open(newline="") as handle:
            for line in csv.reader(handle):
                if len(line) < 3:
                    continue
                try:
                    first, last = ipaddress.ip_address(line[0]), ipaddress.ip_address(line[1])
                except ValueError:
                    continue  # a header or a malformed line
                # IPv6 ranges live above IPv4's so one sorted list holds both.
                offset = 1 << 32 if first.version == 6 else 0
                rows.append((int(first) + offset, int(last) + offset, line[2].strip().upper()))
        rows.sort()
        log.info("country lookup: %d ranges from %s", len(rows), path)
        return cls([r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows])

    def country(self, ip: str | None) -> str | None:
        if not ip or not self._starts:
            return None
        try:
            address = ipaddress.ip_address(ip)
        except ValueError:
            return None
        value = int(address) + (1 << 32 if address.version == 6 else 0)
        index = bisect.bisect_right(self._starts, value) - 1
        if index >= 0 and value <= self._ends[index]:
            code = self._countries[index]
            return code if len(code) == 2 and code != "ZZ" else None
        return None
