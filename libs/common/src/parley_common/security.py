"""Access tokens: asymmetric JWTs (EdDSA, pinned) issued by auth (agents) and visitors (visitors).

Every service verifies them with the public key; only the issuers hold the private key.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass, replace
from functools import lru_cache
from ipaddress import IPv4Network, IPv6Network, ip_address, ip_network
from pathlib import Path
from typing import Annotated, Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from fastapi import Depends, Request, Response
from starlette.requests import HTTPConnection

from parley_common import api_keys
from parley_common.errors import Forbidden, Unauthorized, raises
from parley_common.revocation import Revocations
from parley_common.settings import Settings, get_settings

ALGORITHM = "EdDSA"


class TokenExpired(Unauthorized):
    code, title = "token_expired", "The access token has expired; refresh it"


AGENT_AUDIENCE = "parley:agent"
VISITOR_AUDIENCE = "parley:visitor"


@dataclass(frozen=True, slots=True)
class AgentPrincipal:
    agent_id: uuid.UUID
    account_id: uuid.UUID
    role: str
    session_id: uuid.UUID
    # An API key's scopes (agent_id and session_id are then the key's id); None for an agent.
    scopes: frozenset[str] | None = None
    # An API key's name, shown as the author of what it writes; None for an agent.
    key_name: str | None = None

    @property
    def is_admin(self) -> bool:
        return self.role in ("owner", "admin")

    @property
    def is_api_key(self) -> bool:
        return self.scopes is not None


@dataclass(frozen=True, slots=True)
class VisitorPrincipal:
    visitor_id: uuid.UUID
    account_id: uuid.UUID


def generate_key_pair(private_path: Path, public_path: Path) -> None:
    """Write a new Ed25519 key pair (development: `make run` does this once)."""
    key = Ed25519PrivateKey.generate()
    private_path.parent.mkdir(parents=True, exist_ok=True)
    private_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    private_path.chmod(0o600)
    public_path.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )


@lru_cache(maxsize=4)
def _read_key(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError as exc:
        raise RuntimeError(
            f"JWT key file {path} is missing: run `parley keys` or configure "
            "PARLEY_JWT_PRIVATE_KEY_FILE / PARLEY_JWT_PUBLIC_KEY_FILE"
        ) from exc


# Parsed once per process: PEM parsing costs more than verifying a signature.
@lru_cache(maxsize=4)
def _private_key(path: Path) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(_read_key(path), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise RuntimeError(f"{path} is not an Ed25519 private key")
    return key


@lru_cache(maxsize=4)
def _public_key(path: Path) -> Ed25519PublicKey:
    key = serialization.load_pem_public_key(_read_key(path))
    if not isinstance(key, Ed25519PublicKey):
        raise RuntimeError(f"{path} is not an Ed25519 public key")
    return key


def _issue(claims: dict[str, Any], audience: str, ttl: int, settings: Settings) -> str:
    now = int(time.time())
    payload = {**claims, "iss": settings.jwt_issuer, "aud": audience, "iat": now, "exp": now + ttl}
    return jwt.encode(payload, _private_key(settings.jwt_private_key_file), algorithm=ALGORITHM)


def _decode(token: str, audience: str, settings: Settings) -> dict[str, Any]:
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            _public_key(settings.jwt_public_key_file),
            algorithms=[ALGORITHM],
            audience=audience,
            issuer=settings.jwt_issuer,
            options={"require": ["exp", "iat", "aud", "iss", "sub"]},
        )
    except jwt.ExpiredSignatureError as exc:
        raise TokenExpired() from exc
    except jwt.PyJWTError as exc:
        raise Unauthorized("The access token is not valid.") from exc
    return claims


class _VerifiedTokens:
    """Tokens that verified, with what they verified to, until they expire (bounded LRU).

    Verifying is pure (signature, audience, issuer, times), so repeating it for the same
    token string gives the same answer until ``exp``; a chat box sends the same token on
    every heartbeat. Only successes are kept; a kept token past its ``exp`` answers
    ``TokenExpired``, as the full check would.
    """

    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: OrderedDict[tuple[str, ...], tuple[float, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[str, ...]) -> Any | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None:
                return None
            self._entries.move_to_end(key)
        if entry[0] <= time.time():
            raise TokenExpired()
        return entry[1]

    def put(self, key: tuple[str, ...], exp: float, principal: Any) -> None:
        with self._lock:
            self._entries[key] = (exp, principal)
            self._entries.move_to_end(key)
            while len(self._entries) > self.size:
                self._entries.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


VERIFIED_TOKENS = _VerifiedTokens(size=20_000)


def _cache_key(token: str, audience: str, settings: Settings) -> tuple[str, ...]:
    return (token, audience, str(settings.jwt_public_key_file), settings.jwt_issuer)


def issue_agent_token(
    agent_id: uuid.UUID,
    account_id: uuid.UUID,
    role: str,
    session_id: uuid.UUID,
    settings: Settings | None = None,
) -> str:
    settings = settings or get_settings()
    return _issue(
        {"sub": str(agent_id), "acc": str(account_id), "role": role, "sid": str(session_id)},
        AGENT_AUDIENCE,
        settings.access_token_ttl_seconds,
        settings,
    )


def issue_visitor_token(
    visitor_id: uuid.UUID, account_id: uuid.UUID, settings: Settings | None = None
) -> str:
    settings = settings or get_settings()
    return _issue(
        {"sub": str(visitor_id), "acc": str(account_id)},
        VISITOR_AUDIENCE,
        settings.visitor_token_ttl_seconds,
        settings,
    )


def verify_agent_token(token: str, settings: Settings | None = None) -> AgentPrincipal:
    settings = settings or get_settings()
    key = _cache_key(token, AGENT_AUDIENCE, settings)
    cached: AgentPrincipal | None = VERIFIED_TOKENS.get(key)
    if cached is not None:
        return cached
    claims = _decode(token, AGENT_AUDIENCE, settings)
    try:
        principal = AgentPrincipal(
            uuid.UUID(claims["sub"]),
            uuid.UUID(claims["acc"]),
            str(claims["role"]),
            uuid.UUID(claims["sid"]),
        )
    except (KeyError, ValueError) as exc:
        raise Unauthorized("The access token is not valid.") from exc
    VERIFIED_TOKENS.put(key, float(claims["exp"]), principal)
    return principal


def verify_visitor_token(token: str, settings: Settings | None = None) -> VisitorPrincipal:
    settings = settings or get_settings()
    key = _cache_key(token, VISITOR_AUDIENCE, settings)
    cached: VisitorPrincipal | None = VERIFIED_TOKENS.get(key)
    if cached is not None:
        return cached
    claims = _decode(token, VISITOR_AUDIENCE, settings)
    try:
        principal = VisitorPrincipal(uuid.UUID(claims["sub"]), uuid.UUID(claims["acc"]))
    except (KeyError, ValueError) as exc:
        raise Unauthorized("The visitor token is not valid.") from exc
    VERIFIED_TOKENS.put(key, float(claims["exp"]), principal)
    return principal


@lru_cache(maxsize=8)
def _networks(cidrs: tuple[str, ...]) -> tuple[IPv4Network | IPv6Network, ...]:
    return tuple(ip_network(cidr, strict=False) for cidr in cidrs)


def trusted_proxy(peer: str, settings: Settings | None = None) -> bool:
    """Whether the TCP peer is one of our proxies (PARLEY_TRUSTED_PROXIES: nginx, the gateway)."""
    settings = settings or get_settings()
    try:
        address = ip_address(peer)
    except ValueError:
        return False
    return any(address in net for net in _networks(tuple(settings.trusted_proxies)))


def client_ip(conn: HTTPConnection) -> str | None:
    """The caller's address. From a trusted proxy, the last X-Forwarded-For hop: nginx appends
    the peer it talked to, so earlier hops are whatever the client claimed. From anyone else
    the header is the client's own claim: the TCP peer is the address."""
    peer = conn.client.host if conn.client else None
    if peer is not None and trusted_proxy(peer):
        last = conn.headers.get("x-forwarded-for", "").rsplit(",", 1)[-1].strip()
        if last:
            return last[:64]
    return peer


def bearer_token(request: Request) -> str:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthorized(
            "Send `Authorization: Bearer <token>`.", headers={"WWW-Authenticate": "Bearer"}
        )
    return token.strip()


def revocations(request: Request) -> Revocations:
    state: Revocations = request.app.state.revocations
    return state


async def authorize_agent(request: Request, token: str) -> AgentPrincipal:
    """The agent behind ``token`` as it stands now: signature and expiry (cached per token),
    then its session's revocation state (one Redis read, cached ≤ 1 s per session)."""
    principal = verify_agent_token(token)
    role = await revocations(request).check(principal.session_id, principal.agent_id)
    return principal if role in (None, principal.role) else replace(principal, role=role)


# `async def` on purpose: FastAPI runs a plain `def` dependency in its thread pool, a thread
# hop on every request (measured on the chat message path); verifying a token is quick CPU.
async def current_agent(request: Request) -> AgentPrincipal:
    token = bearer_token(request)
    if api_keys.is_api_key(token):
        return await _api_key_principal(request, token)
    return await authorize_agent(request, token)


def api_key_verifier(state: Any) -> api_keys.ApiKeyVerifier:
    """The process's key verifier (on ``app.state``, made on first use)."""
    verifier: api_keys.ApiKeyVerifier | None = getattr(state, "api_key_verifier", None)
    if verifier is None:
        verifier = state.api_key_verifier = api_keys.ApiKeyVerifier(
            state.redis, state.settings.namespace
        )
    return verifier


def api_key_principal(record: dict[str, Any], needed: str | None) -> AgentPrincipal:
    """A verified key's record as an agent of its account, if it has the ``needed`` scope."""
    if needed is None:
        raise api_keys.ApiKeyNotAllowed("Sign in as an agent for this endpoint.")
    if needed not in record["scopes"]:
        raise api_keys.ApiKeyScopeMissing(f"This endpoint needs the `{needed}` scope.")
    key_id = uuid.UUID(record["id"])
    return AgentPrincipal(
        key_id,
        uuid.UUID(record["account_id"]),
        "api_key",
        key_id,
        frozenset(record["scopes"]),
        record.get("name") or "API key",
    )


async def _api_key_principal(request: Request, key: str) -> AgentPrincipal:
    """An integrator's key, as an agent limited to the scope the route needs."""
    record = await api_key_verifier(request.app.state).check(key)
    return api_key_principal(record, api_keys.required_scope(request.scope["path"], request.method))


async def current_visitor(request: Request) -> VisitorPrincipal:
    return verify_visitor_token(bearer_token(request))


@raises(Forbidden)
async def current_admin(
    agent: Annotated[AgentPrincipal, Depends(current_agent)],
) -> AgentPrincipal:
    """An owner or admin as of now (a demoted admin's older token carries the old role)."""
    if agent.is_api_key:
        raise api_keys.ApiKeyNotAllowed("Admin endpoints need an owner or admin, not a key.")
    if not agent.is_admin:
        raise Forbidden("Only the account's owner or an admin can do this.")
    return agent


def no_store(response: Response) -> None:
    """For responses that carry credentials: no cache (browser, proxy) may keep them."""
    response.headers["Cache-Control"] = "no-store"
    response.headers["Pragma"] = "no-cache"


CurrentAgent = Annotated[AgentPrincipal, Depends(current_agent)]
CurrentAdmin = Annotated[AgentPrincipal, Depends(current_admin)]
CurrentVisitor = Annotated[VisitorPrincipal, Depends(current_visitor)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
RevocationsDep = Annotated[Revocations, Depends(revocations)]
NoStore = Depends(no_store)
