"""A real HTTP/2 APNs peer for tests: TLS from a test CA, ALPN h2, written with `h2` directly.

It answers ``POST /3/device/<token>`` like APNs does (200 with an ``apns-id``; errors as a
JSON ``{"reason": ..., "timestamp": ...}`` body in one DATA frame) and records every request.
Tests choose the answer per token: ``double.answer(token, 410, "Unregistered", timestamp=...)``
or a sequence, ``double.answer(token, (429, "TooManyRequests"), (200, None))``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import json
import ssl
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from h2.config import H2Configuration
from h2.connection import H2Connection
from h2.events import ConnectionTerminated, DataReceived, RequestReceived, StreamEnded
from h2.settings import SettingCodes

MAX_PAYLOAD_BYTES = 4096  # APNs' limit for an alert push


@dataclass
class TestPKI:
    """A test CA, a server certificate for localhost signed by it, and an APNs .p8 key."""

    ca_file: Path
    cert_file: Path
    key_file: Path
    p8_file: Path
    p8_public: Any

    @classmethod
    def create(cls, directory: Path, hosts: tuple[str, ...] = ("localhost",)) -> TestPKI:
        """A new PKI in ``directory``; the server certificate names ``hosts`` and 127.0.0.1."""
        directory.mkdir(parents=True, exist_ok=True)
        now = dt.datetime.now(dt.UTC)
        ca_key = ec.generate_private_key(ec.SECP256R1())
        ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Parley test CA")])
        ca = (
            x509.CertificateBuilder()
            .subject_name(ca_name)
            .issuer_name(ca_name)
            .public_key(ca_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=2))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    key_cert_sign=True,
                    crl_sign=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .sign(ca_key, hashes.SHA256())
        )
        key = ec.generate_private_key(ec.SECP256R1())
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
            .issuer_name(ca_name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(minutes=5))
            .not_valid_after(now + dt.timedelta(days=2))
            .add_extension(
                x509.SubjectAlternativeName(
                    [x509.DNSName(host) for host in hosts]
                    + [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
                ),
                critical=False,
            )
            .sign(ca_key, hashes.SHA256())
        )
        pem = serialization.Encoding.PEM
        pki = cls.load(directory)
        pki.ca_file.write_bytes(ca.public_bytes(pem))
        pki.cert_file.write_bytes(cert.public_bytes(pem))
        pki.key_file.write_bytes(
            key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        )
        p8 = ec.generate_private_key(ec.SECP256R1())
        pki.p8_file.write_bytes(
            p8.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
        )
        pki.p8_public = p8.public_key()
        return pki

    @classmethod
    def load(cls, directory: Path) -> TestPKI:
        """The PKI that ``create`` wrote in ``directory`` (without the .p8's public key)."""
        return cls(
            directory / "ca.pem",
            directory / "server.pem",
            directory / "server.key",
            directory / "AuthKey_TEST.p8",
            None,
        )

    def server_context(self) -> ssl.SSLContext:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert_file, self.key_file)
        context.set_alpn_protocols(["h2"])
        return context


@dataclass
class ReceivedPush:
    token: str
    headers: dict[str, str]
    payload: dict[str, Any]
    status: int
    alpn: str | None
    size: int = 0  # bytes of the request body


@dataclass
class APNsDouble:
    pki: TestPKI
    host: str = "127.0.0.1"
    port: int = 0
    received: list[ReceivedPush] = field(default_factory=list)
    _answers: dict[str, list[tuple[int, str | None, int | None]]] = field(default_factory=dict)
    _server: asyncio.Server | None = None
    _arrived: asyncio.Condition | None = None

    def answer(
        self,
        token: str,
        *answers: tuple[int, str | None] | tuple[int, str | None, int] | int,
        reason: str | None = None,
        timestamp: int | None = None,
    ) -> None:
        """How to answer pushes to ``token``: in order, the last answer repeating."""
        plan: list[tuple[int, str | None, int | None]] = []
        for item in answers:
            if isinstance(item, int):
                plan.append((item, reason, timestamp))
            else:
                status, why, *rest = item
                plan.append((status, why, rest[0] if rest else None))
        self._answers[token.lower()] = plan

    def for_token(self, token: str) -> list[ReceivedPush]:
        return [r for r in self.received if r.token == token.lower()]

    async def wait_for(self, count: int, timeout: float = 10) -> list[ReceivedPush]:
        assert self._arrived is not None
        async with self._arrived:
            await asyncio.wait_for(
                self._arrived.wait_for(lambda: len(self.received) >= count), timeout
            )
        return self.received

    def verify_authorization(self, push: ReceivedPush, *, team_id: str, key_id: str) -> None:
        """The provider token is an ES256 JWT from the team's .p8 key with its key id."""
        scheme, _, token = push.headers["authorization"].partition(" ")
        assert scheme == "bearer"
        assert jwt.get_unverified_header(token)["kid"] == key_id
        claims = jwt.decode(token, self.pki.p8_public, algorithms=["ES256"])
        assert claims["iss"] == team_id

    def _next_answer(self, token: str) -> tuple[int, str | None, int | None]:
        plan = self._answers.get(token)
        if not plan:
            return 200, None, None
        return plan.pop(0) if len(plan) > 1 else plan[0]

    async def start(self) -> APNsDouble:
        self._arrived = asyncio.Condition()
        loop = asyncio.get_running_loop()
        self._server = await loop.create_server(
            lambda: _H2Server(self), self.host, self.port, ssl=self.pki.server_context()
        )
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def _record(self, push: ReceivedPush) -> None:
        self.received.append(push)
        assert self._arrived is not None
        condition = self._arrived

        async def notify() -> None:
            async with condition:
                condition.notify_all()

        asyncio.get_running_loop().create_task(notify())

    def start_in_thread(self) -> APNsDouble:
        """Serve from a thread with its own event loop (for benchmarks)."""
        started = threading.Event()

        def run() -> None:
            loop = asyncio.new_event_loop()
            loop.run_until_complete(self.start())
            started.set()
            loop.run_forever()

        threading.Thread(target=run, daemon=True, name="apns-double").start()
        started.wait(10)
        return self


class _H2Server(asyncio.Protocol):
    def __init__(self, double: APNsDouble) -> None:
        self.double = double
        self.conn = H2Connection(H2Configuration(client_side=False, header_encoding="utf-8"))
        self.transport: asyncio.Transport | None = None
        self.streams: dict[int, tuple[dict[str, str], bytearray]] = {}
        self.alpn: str | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        ssl_object = transport.get_extra_info("ssl_object")
        self.alpn = ssl_object.selected_alpn_protocol() if ssl_object else None
        self.conn.initiate_connection()
        # APNs allows about a thousand concurrent streams per connection.
        self.conn.update_settings({SettingCodes.MAX_CONCURRENT_STREAMS: 1000})
        transport.write(self.conn.data_to_send())

    def data_received(self, data: bytes) -> None:
        assert self.transport is not None
        for event in self.conn.receive_data(data):
            if isinstance(event, RequestReceived):
                self.streams[event.stream_id] = (dict(event.headers), bytearray())  # type: ignore[arg-type]
            elif isinstance(event, DataReceived):
                self.streams[event.stream_id][1].extend(event.data)
                self.conn.acknowledge_received_data(event.flow_controlled_length, event.stream_id)
            elif isinstance(event, StreamEnded):
                self._respond(event.stream_id)
            elif isinstance(event, ConnectionTerminated):
                self.transport.close()
                return
        self.transport.write(self.conn.data_to_send())

    def _respond(self, stream_id: int) -> None:
        headers, body = self.streams.pop(stream_id)
        path = headers.get(":path", "")
        token = path.rsplit("/", 1)[-1].lower()
        apns_id = headers.get("apns-id") or str(uuid.uuid4())
        status, reason, timestamp = self.double._next_answer(token)
        if len(body) > MAX_PAYLOAD_BYTES:  # as APNs: a larger alert payload is refused
            status, reason, timestamp = 413, "PayloadTooLarge", None
        try:
            payload = json.loads(bytes(body) or b"{}")
        except ValueError:
            payload = {"_invalid": bytes(body).decode(errors="replace")}
        self.double._record(
            ReceivedPush(token, headers, payload, status, self.alpn, size=len(body))
        )
        response = [(":status", str(status)), ("apns-id", apns_id)]
        if status == 200:
            self.conn.send_headers(stream_id, response, end_stream=True)
            return
        error: dict[str, Any] = {"reason": reason or "InternalServerError"}
        if timestamp is not None:
            error["timestamp"] = timestamp
        self.conn.send_headers(stream_id, [*response, ("content-type", "application/json")])
        self.conn.send_data(stream_id, json.dumps(error).encode(), end_stream=True)
