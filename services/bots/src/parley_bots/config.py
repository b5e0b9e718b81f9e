"""The bots service's settings (environment variables with the PARLEY_ prefix)."""

from __future__ import annotations

from functools import lru_cache

from parley_common.settings import Settings


class BotsSettings(Settings):
    # Used until auth tells us the account's entitlements (auth's free plan allows 1).
    free_max_active_chatbots: int = 1
    # How often the worker looks for delayed and time-on-page triggers that are due.
    bots_sweep_interval_seconds: float = 1.0


@lru_cache
def get_bots_settings() -> BotsSettings:
    return BotsSettings()
