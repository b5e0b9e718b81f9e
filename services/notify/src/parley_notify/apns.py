"""APNs over aioapns with token authentication: one HTTP/2 connection pool per environment.

aioapns connects to Apple's fixed host names; ``ConfiguredKeyPool`` connects to the configured
host and port instead (a double in tests, a relay in some deployments) and trusts the
configured CA. Pools are created lazily inside the running event loop.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import uuid
from dataclasses import dataclass
from typing import Any

from aioapns.common import NotificationRequest, PushType
from aioapns.connection import (
    APNsBaseClientProtocol,
    APNsDevelopmentClientProtocol,
    APNsKeyConnectionPool,
    APNsProductionClientProtocol,
)
from aioapns.exceptions import ConnectionError as APNsConnectionError
from aioapns.exceptions import MaxAttemptsExceeded

from parley_notify.config import NotifySettings

log = logging.getLogger("parley.notify.apns")

SEND_TIMEOUT_SECONDS = 15


class _Production(APNsProductionClientProtocol):
    # Apple asks providers to keep connections open rather than reconnect per burst.
    INACTIVITY_TIME = 600


class _Sandbox(APNsDevelopmentClientProtocol):
    INACTIVITY_TIME = 600


class ConfiguredKeyPool(APNsKeyConnectionPool):
    """aioapns' token-auth pool, connecting to a configured host and port."""

    def __init__(self, *, host: str, port: int, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.host = host
        self.port = port
        self.protocol_class = _Sandbox if kwargs.get("use_sandbox") else _Production

    async def _create_connection(self, apns_protocol_factory: Any) -> APNsBaseClientProtocol:
        _, protocol = await self.loop.create_connection(
            protocol_factory=apns_protocol_factory,
            host=self.host,
            port=self.port,
            ssl=self.ssl_context,
            server_hostname=self.host,
        )
        assert isinstance(protocol, APNsBaseClientProtocol)
        return protocol


@dataclass(frozen=True)
class Notification:
    token: str
    environment: str
    topic: str
    payload: dict[str, Any]
    collapse_id: str | None = None
    priority: int = 10


@dataclass(frozen=True)
class Answer:
    """APNs' answer to one request; status 0 means no answer (connection failed, timeout)."""

    apns_id: str
    status: int
    reason: str | None = None
    timestamp: int | None = None


def tls_context(settings: NotifySettings) -> ssl.SSLContext:
    if settings.apns_ca_file is not None:
        context = ssl.create_default_context(cafile=str(settings.apns_ca_file))
    else:
        context = ssl.create_default_context()
    context.set_alpn_protocols(["h2"])
    return context


class APNsClient:
    """Sends notifications; ``send`` never raises for APNs or network trouble."""

    def __init__(self, settings: NotifySettings) -> None:
        self.settings = settings
        self._pools: dict[str, ConfiguredKeyPool] = {}
        # aioapns polls every 10 ms for a free stream when all are taken; waiting here instead
        # keeps a large batch from spinning the event loop.
        self._in_flight: asyncio.Semaphore | None = None
        self._key: str | None = None
        if settings.apns_key_file is not None:
            self._key = settings.apns_key_file.read_text()

    @property
    def configured(self) -> bool:
        return bool(self._key and self.settings.apns_key_id and self.settings.apns_team_id)

    def _pool(self, environment: str) -> ConfiguredKeyPool:
        pool = self._pools.get(environment)
        if pool is None:
            sandbox = environment == "sandbox"
            cfg = self.settings
            pool = ConfiguredKeyPool(
                host=cfg.apns_sandbox_host if sandbox else cfg.apns_production_host,
                port=cfg.apns_port,
                key=self._key,
                key_id=cfg.apns_key_id,
                team_id=cfg.apns_team_id,
                topic=cfg.apns_topic,
                max_connections=cfg.apns_max_connections,
                max_connection_attempts=2,
                use_sandbox=sandbox,
                ssl_context=tls_context(cfg),
            )
            self._pools[environment] = pool
        return pool

    async def send(self, notification: Notification) -> Answer:
        apns_id = str(uuid.uuid4())
        if not self.configured:
            return Answer(apns_id, 0, "NotConfigured")
        request = NotificationRequest(
            device_token=notification.token,
            message=notification.payload,
            notification_id=apns_id,
            time_to_live=self.settings.apns_expiration_seconds,
            priority=notification.priority,
            collapse_key=notification.collapse_id,
            push_type=PushType.ALERT,
            apns_topic=notification.topic,
        )
        if self._in_flight is None:
            self._in_flight = asyncio.Semaphore(self.settings.apns_max_in_flight)
        try:
            async with self._in_flight:
                sending = asyncio.ensure_future(
                    self._pool(notification.environment).send_notification(request)
                )
                # Shielded: cancelling aioapns mid-request breaks its connection for everyone.
                result = await asyncio.wait_for(asyncio.shield(sending), SEND_TIMEOUT_SECONDS)
        except TimeoutError:
            return Answer(apns_id, 0, "Timeout")
        except (MaxAttemptsExceeded, APNsConnectionError, OSError) as exc:
            log.warning("APNs unreachable: %r", exc)
            return Answer(apns_id, 0, "ConnectionFailed")
        return Answer(
            apns_id,
            int(result.status),
            result.description or None,
            int(result.timestamp) if result.timestamp is not None else None,
        )

    def close(self) -> None:
        for pool in self._pools.values():
            pool.close()
        self._pools.clear()
