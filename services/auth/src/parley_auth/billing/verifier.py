"""Apple's signed data (JWS, ES256, x5c chain up to Apple's root) verified with Apple's own
``app-store-server-library`` and reduced to the few fields Parley uses.

The library (with requests, urllib3, attrs and cattrs) is imported by the first verification,
not at start: ~70 ms of every auth process's start for two routes (python -X importtime)."""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import jwt
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from parley_auth.billing.errors import AppStoreUnavailable, AppStoreVerificationFailed
from parley_auth.config import AuthSettings

if TYPE_CHECKING:
    from appstoreserverlibrary.signed_data_verifier import SignedDataVerifier

log = logging.getLogger("parley.auth.app_store")

# Xcode and LocalTesting data is unsigned: the library skips verification for them.
ENVIRONMENTS = ("Production", "Sandbox")  # the values of the library's Environment


@dataclass(frozen=True, slots=True)
class Transaction:
    original_transaction_id: str
    transaction_id: str
    product_id: str
    environment: str
    expires_at: datetime | None
    revoked_at: datetime | None
    app_account_token: uuid.UUID | None
    signed_at: datetime


@dataclass(frozen=True, slots=True)
class Renewal:
    auto_renew: bool | None
    grace_period_expires_at: datetime | None


@dataclass(frozen=True, slots=True)
class Notification:
    notification_uuid: uuid.UUID
    type: str
    subtype: str | None
    signed_at: datetime
    transaction: Transaction | None
    renewal: Renewal | None


def _time(ms: int | None) -> datetime | None:
    return None if ms is None else datetime.fromtimestamp(ms / 1000, tz=UTC)


def _token(value: str | None) -> uuid.UUID | None:
    try:
        return uuid.UUID(value) if value else None
    except ValueError:
        return None


def _der(path: str) -> bytes:
    data = Path(path).read_bytes()
    if b"-----BEGIN CERTIFICATE-----" in data:
        return x509.load_pem_x509_certificate(data).public_bytes(Encoding.DER)
    return data


@lru_cache(maxsize=8)
def _verifier(
    roots: tuple[str, ...], bundle_id: str, environment: str, app_apple_id: int | None, online: bool
) -> SignedDataVerifier:
    from appstoreserverlibrary.models.Environment import Environment
    from appstoreserverlibrary.signed_data_verifier import SignedDataVerifier

    if not roots or environment not in ENVIRONMENTS:
        raise AppStoreUnavailable("App Store purchases are not configured on this server.")
    try:
        certificates = [_der(path) for path in roots]
        return SignedDataVerifier(
            certificates, online, Environment(environment), bundle_id, app_apple_id
        )
    except (OSError, ValueError) as exc:
        log.error("app store verifier misconfigured: %s", exc)
        raise AppStoreUnavailable("App Store purchases are misconfigured on this server.") from exc


def verifier(settings: AuthSettings) -> SignedDataVerifier:
    return _verifier(
        tuple(settings.app_store_root_certs),
        settings.app_store_bundle_id,
        settings.app_store_environment,
        settings.app_store_app_apple_id,
        settings.app_store_online_checks,
    )


def _failed(exc: Exception) -> Exception:
    from appstoreserverlibrary.signed_data_verifier import (
        VerificationException,
        VerificationStatus,
    )

    if isinstance(exc, VerificationException):
        if exc.status == VerificationStatus.RETRYABLE_VERIFICATION_FAILURE:
            return AppStoreUnavailable("Apple's certificate status could not be checked.")
        return AppStoreVerificationFailed(reason=exc.status.name.lower())
    # Correctly signed but not shaped like Apple's data.
    return AppStoreVerificationFailed(reason="malformed_payload")


def _transaction(v: SignedDataVerifier, signed: str) -> Transaction:
    tx = v.verify_and_decode_signed_transaction(signed)
    if not tx.originalTransactionId or not tx.transactionId or tx.signedDate is None:
        raise ValueError("transaction without ids or signedDate")
    signed_at = _time(tx.signedDate)
    assert signed_at is not None
    return Transaction(
        original_transaction_id=tx.originalTransactionId[:64],
        transaction_id=tx.transactionId[:64],
        product_id=(tx.productId or "")[:200],
        environment=tx.rawEnvironment or "",
        expires_at=_time(tx.expiresDate),
        revoked_at=_time(tx.revocationDate),
        app_account_token=_token(tx.appAccountToken),
        signed_at=signed_at,
    )


def _renewal(v: SignedDataVerifier, signed: str) -> Renewal:
    info = v.verify_and_decode_renewal_info(signed)
    auto_renew = None if info.rawAutoRenewStatus is None else info.rawAutoRenewStatus == 1
    return Renewal(auto_renew, _time(info.gracePeriodExpiresDate))


def _notification(v: SignedDataVerifier, signed_payload: str) -> Notification:
    payload = v.verify_and_decode_notification(signed_payload)
    if not payload.notificationUUID or not payload.rawNotificationType or not payload.signedDate:
        raise ValueError("notification without uuid, type or signedDate")
    data = payload.data
    signed_tx = data.signedTransactionInfo if data else None
    signed_renewal = data.signedRenewalInfo if data else None
    signed_at = _time(payload.signedDate)
    assert signed_at is not None
    return Notification(
        notification_uuid=uuid.UUID(payload.notificationUUID),
        type=payload.rawNotificationType[:50],
        subtype=payload.rawSubtype[:50] if payload.rawSubtype else None,
        signed_at=signed_at,
        transaction=_transaction(v, signed_tx) if signed_tx else None,
        renewal=_renewal(v, signed_renewal) if signed_renewal else None,
    )


def _shaped_like_apple_data(signed: str) -> None:
    """Garbage is the sender's fault whatever this server's configuration: 400, before a
    verifier is needed (an unconfigured server answers 503 only to real signed data)."""
    try:
        header = jwt.get_unverified_header(signed)
    except jwt.PyJWTError:
        header = {}
    chain = header.get("x5c")
    if header.get("alg") != "ES256" or not isinstance(chain, list) or not chain:
        raise AppStoreVerificationFailed(reason="verification_failure")


async def verify_notification(settings: AuthSettings, signed_payload: str) -> Notification:
    """The decoded notification, its transaction and renewal info, each verified; raises
    AppStoreVerificationFailed (400) or AppStoreUnavailable (503, Apple retries)."""
    _shaped_like_apple_data(signed_payload)
    v = verifier(settings)
    try:
        # Certificate checks are blocking (and OCSP does network I/O when enabled).
        return await asyncio.to_thread(_notification, v, signed_payload)
    except Exception as exc:
        raise _failed(exc) from exc


async def verify_transaction(settings: AuthSettings, signed_transaction: str) -> Transaction:
    _shaped_like_apple_data(signed_transaction)
    v = verifier(settings)
    try:
        return await asyncio.to_thread(_transaction, v, signed_transaction)
    except Exception as exc:
        raise _failed(exc) from exc
