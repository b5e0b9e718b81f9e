"""Configuration shared by every process: environment variables with the PARLEY_ prefix."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic_settings import BaseSettings, SettingsConfigDict

from parley_common.contracts import PUBLIC_PORT, SERVICE_PORTS

# The working tree's .local holds generated development state (keys, uploads).
LOCAL_DIR = Path.cwd() / ".local"


class Settings(BaseSettings):
    """Settings every Parley process reads. Services subclass it for their own."""

    model_config = SettingsConfigDict(env_prefix="PARLEY_", extra="ignore")

    environment: str = "local"
    database_url: str = "postgresql+asyncpg://postgres@127.0.0.1:5432/parley"
    # Connections per process, all kept open (no overflow: opening one per request under load
    # cost PostgreSQL more CPU than the queries). A request waits this long for one, then is
    # refused with 503 (workers wait longer: they have no one to answer). Half a second: with
    # the gateway's and the service's admission waits (250 ms each) a refusal still comes within
    # about a second, and a request that waited longer would miss the 1 s budget of accepted work.
    database_pool_size: int = 10
    database_pool_timeout_seconds: float = 0.5
    # Admission control of each HTTP service (parley_common.admission): requests in flight; up
    # to ``admission_queue`` more wait for a slot, each at most ``admission_wait_ms``, then are
    # refused with 503 + Retry-After. Sized by measurement (bench/chat_message_path.py, closed
    # loops at 8-64 POSTs in flight; bench/README.md "Admission sized by measurement"): the
    # message path is near its best rate with 16-32 in flight, more only adds latency. The
    # wait bounds the latency of accepted work (250 ms + a request's p99 with 32 in flight,
    # ~0.15-0.35 s: within the 1 s budget on a machine twice as slow); the queue is the rate
    # times that wait (~500 msg/s x 0.25 s): a stall or burst the service can catch up with
    # inside the wait is absorbed, not refused (with a queue of 32, 45% of a 200 msg/s phase,
    # a third of the sustained rate, was refused after a stall of a few hundred milliseconds).
    max_requests_in_flight: int = 32
    admission_queue: int = 128
    admission_wait_ms: int = 250
    # The wait counts from when nginx took the request (X-Request-Start), so time in this
    # process's backlog counts too; needs nginx's clock and ours in step (parley_common.admission).
    admission_wait_from_front: bool = True
    rabbitmq_url: str = "amqp://guest:guest@127.0.0.1:5672/"
    redis_url: str = "redis://127.0.0.1:6379/0"
    # Prefix for every Redis key and RabbitMQ name, so test runs never collide with a live system.
    namespace: str = "parley"
    # The longest a worker job woken by inserts (parley_common.wake) sleeps with nothing due:
    # inserts wake it (NOTIFY), so this only bounds what a lost notification could delay.
    wake_safety_seconds: float = 60.0

    jwt_private_key_file: Path = LOCAL_DIR / "keys" / "jwt_private.pem"
    jwt_public_key_file: Path = LOCAL_DIR / "keys" / "jwt_public.pem"
    jwt_issuer: str = "parley"
    # Fernet key sealing secrets stored to be read back (parley_common.sealed); required
    # outside local by the services that use it.
    secrets_key: str = ""
    access_token_ttl_seconds: int = 900
    visitor_token_ttl_seconds: int = 60 * 60 * 24 * 30
    # How long a service trusts its last look at a session's revocation state (seconds).
    session_check_cache_seconds: float = 0.5

    public_url: str = f"http://127.0.0.1:{PUBLIC_PORT}"
    gateway_url: str = f"http://127.0.0.1:{SERVICE_PORTS['gateway']}"
    # Peers whose X-Forwarded-For is believed (nginx in front, the gateway's internal calls);
    # in Kubernetes the pod network. From anyone else the TCP peer is the client's address.
    trusted_proxies: list[str] = ["127.0.0.1/32", "::1/128"]
    auth_url: str = f"http://127.0.0.1:{SERVICE_PORTS['auth']}"
    chat_url: str = f"http://127.0.0.1:{SERVICE_PORTS['chat']}"
    visitors_url: str = f"http://127.0.0.1:{SERVICE_PORTS['visitors']}"
    notify_url: str = f"http://127.0.0.1:{SERVICE_PORTS['notify']}"
    bots_url: str = f"http://127.0.0.1:{SERVICE_PORTS['bots']}"

    smtp_host: str = "127.0.0.1"
    smtp_port: int = 1025
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_use_tls: bool = False
    mail_from: str = "Parley <no-reply@parley.localhost>"

    # Prometheus metrics (and liveness) port of worker processes; 0 = off.
    worker_metrics_port: int = 0
    host: str = "127.0.0.1"

    # Uploaded files (attachments, avatars): "local" (under storage_dir) or "s3".
    storage: Literal["local", "s3"] = "local"
    storage_dir: Path = LOCAL_DIR / "storage"
    s3_bucket: str = ""
    # Set for anything but AWS itself (MinIO, Ceph, R2, moto); http:// is allowed then.
    s3_endpoint_url: str | None = None
    s3_region: str = "us-east-1"
    # Unset: the usual AWS chain (AWS_* variables, web identity / IRSA, instance profile).
    s3_access_key_id: str | None = None
    s3_secret_access_key: str | None = None

    # OpenTelemetry: traces go to this OTLP/HTTP collector (e.g. http://otel-collector:4318);
    # unset (the default), tracing is off and costs nothing.
    otlp_endpoint: str | None = None

    log_level: str = "INFO"
    log_json: bool = True

    def service_url(self, name: str) -> str:
        url: str = getattr(self, f"{name}_url")
        return url.rstrip("/")

    def check_production(self) -> None:
        """Refuse to start outside local with development defaults that must not go live."""
        if self.environment != "local" and not self.jwt_private_key_file.exists():
            raise RuntimeError("PARLEY_JWT_PRIVATE_KEY_FILE must point at a key outside local")


@lru_cache
def get_settings() -> Settings:
    return Settings()
