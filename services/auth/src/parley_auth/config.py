"""Auth service settings (env prefix PARLEY_)."""

from __future__ import annotations

from functools import lru_cache

from parley_common.settings import Settings


class AuthSettings(Settings):
    refresh_token_ttl_seconds: int = 60 * 60 * 24 * 30
    invitation_ttl_seconds: int = 60 * 60 * 24 * 7

    # Login throttling: failures per e-mail and per client IP within the window.
    login_max_failures_per_email: int = 5
    login_max_failures_per_ip: int = 20
    login_failure_window_seconds: int = 300
    signups_per_ip_per_hour: int = 20

    bug_reports_per_agent_per_hour: int = 5
    support_email: str = "support@parley.localhost"

    avatar_max_bytes: int = 2 * 1024 * 1024
    avatar_max_side: int = 512

    # Plans: the entitlements other services enforce.
    free_max_agents: int = 3
    free_max_active_chatbots: int = 1
    premium_max_agents: int = 50
    premium_max_active_chatbots: int = 20

    help_center_url: str = "https://help.parley.localhost"
    terms_url: str = "https://parley.localhost/terms"
    privacy_url: str = "https://parley.localhost/privacy"
    gdpr_url: str = "https://parley.localhost/gdpr"


@lru_cache
def get_auth_settings() -> AuthSettings:
    return AuthSettings()
