"""The chat service's settings (environment variables with the PARLEY_ prefix)."""

from __future__ import annotations

from functools import lru_cache

from parley_common.settings import Settings


class ChatSettings(Settings):
    message_max_length: int = 10_000
    attachment_max_bytes: int = 25 * 1024 * 1024
    # An upload not attached to a message within this time is deleted (row and file).
    attachment_unattached_grace_seconds: float = 24 * 3600
    attachment_sweep_interval_seconds: float = 600
    # Inbound SMTP receiver for e-mail replies (`parley inbound-mail`).
    inbound_mail_host: str = "127.0.0.1"
    inbound_mail_port: int = 2525
    inbound_mail_domain: str = "reply.parley.localhost"
    inbound_mail_max_bytes: int = 10 * 1024 * 1024
    # Signs the conversation id in the Reply-To address; set it outside local.
    reply_address_secret: str = "parley-local-reply-secret"
    transcripts_per_hour: int = 30
    # Default inactivity before an open conversation is resolved automatically (0 = never);
    # an account overrides it with general setting `auto_resolve_minutes`.
    auto_resolve_minutes: int = 0
    auto_resolve_interval_seconds: float = 60.0
    # Facebook Messenger (the page connection and its webhook). An empty app secret or verify
    # token refuses every webhook call: the integration is off until both are set.
    facebook_graph_url: str = "https://graph.facebook.com/v21.0"
    facebook_app_secret: str = ""
    facebook_verify_token: str = ""
    facebook_timeout_seconds: float = 10.0

    def check_production(self) -> None:
        super().check_production()
        if self.environment != "local" and self.reply_address_secret == "parley-local-reply-secret":
            raise RuntimeError("PARLEY_REPLY_ADDRESS_SECRET must be set outside local")


@lru_cache
def get_chat_settings() -> ChatSettings:
    return ChatSettings()
