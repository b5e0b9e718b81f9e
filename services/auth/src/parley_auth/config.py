"""Auth service settings (env prefix PARLEY_)."""

from __future__ import annotations

from functools import lru_cache

from parley_common.settings import Settings


class AuthSettings(Settings):
    refresh_token_ttl_seconds: int = 60 * 60 * 24 * 30
    invitation_ttl_seconds: int = 60 * 60 * 24 * 7

    # Login throttling, failures within the window: per (e-mail, client address), per address,
    # and a much higher ceiling per e-mail (so one address cannot lock a user out).
    login_max_failures_per_email_and_ip: int = 5
    login_max_failures_per_ip: int = 20
    login_max_failures_per_email: int = 100
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

    # App Store (in-app purchases). Signed data is verified up to these root certificates
    # (DER or PEM files; production: Apple Root CA - G3), as a JSON list in the environment:
    # PARLEY_APP_STORE_ROOT_CERTS='["/etc/parley/AppleRootCA-G3.cer"]'. None = purchases refused.
    app_store_root_certs: list[str] = []
    app_store_bundle_id: str = "dev.parley.app"
    # "Production" (needs app_store_app_apple_id) or "Sandbox".
    app_store_environment: str = "Production"
    app_store_app_apple_id: int | None = None
    # OCSP revocation checks against Apple's responders (needs outbound network).
    app_store_online_checks: bool = False

    help_center_url: str = "https://help.parley.localhost"
    terms_url: str = "https://parley.localhost/terms"
    privacy_url: str = "https://parley.localhost/privacy"
    gdpr_url: str = "https://parley.localhost/gdpr"


@lru_cache
def get_auth_settings() -> AuthSettings:
    return AuthSettings()
