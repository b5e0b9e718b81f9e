"""A test stand-in for Apple's signing: root CA → intermediate → leaf (EC P-256) with the
extensions Apple's SignedDataVerifier requires (OpenSSL strict chain checks, the WWDR
intermediate OID 1.2.840.113635.100.6.2.1 and the App Store leaf OID 1.2.840.113635.100.6.11.1),
and ES256 JWS with the chain in the ``x5c`` header, shaped like Apple's signed data.

Loaded by file path (tests run with --import-mode=importlib): see ``load_signer``.
"""

from __future__ import annotations

import base64
import datetime as dt
import time
import uuid
from pathlib import Path
from typing import Any

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

BUNDLE_ID = "dev.parley.app.test"
APP_APPLE_ID = 1234567890
ENVIRONMENT = "Production"
PRODUCT_ID = "dev.parley.premium.monthly"
WWDR_INTERMEDIATE_OID = x509.ObjectIdentifier("1.2.840.113635.100.6.2.1")
APP_STORE_LEAF_OID = x509.ObjectIdentifier("1.2.840.113635.100.6.11.1")
DER_NULL = b"\x05\x00"


def now_ms(offset_seconds: float = 0) -> int:
    return int((time.time() + offset_seconds) * 1000)


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _certificate(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None,
    *,
    ca: bool,
    apple_oid: x509.ObjectIdentifier | None,
) -> x509.Certificate:
    now = dt.datetime.now(dt.UTC)
    issuer_name = issuer[0].subject if issuer else _name(subject)
    signing_key = issuer[1] if issuer else key
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .add_extension(
            x509.BasicConstraints(ca=ca, path_length=(0 if issuer else None) if ca else None),
            critical=True,
        )
        .add_extension(
            x509.KeyUsage(
                digital_signature=not ca,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=ca,
                crl_sign=ca,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if issuer:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer[1].public_key()),
            critical=False,
        )
    if apple_oid is not None:
        builder = builder.add_extension(
            x509.UnrecognizedExtension(apple_oid, DER_NULL), critical=False
        )
    return builder.sign(signing_key, hashes.SHA256())


class AppStoreSigner:
    """Signs notifications, transactions and renewal info like the App Store does."""

    def __init__(self, directory: Path, *, apple_oids: bool = True) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        root_key = ec.generate_private_key(ec.SECP256R1())
        self.root = _certificate("Test Apple Root CA", root_key, None, ca=True, apple_oid=None)
        intermediate_key = ec.generate_private_key(ec.SECP256R1())
        self.intermediate = _certificate(
            "Test Apple WWDR CA",
            intermediate_key,
            (self.root, root_key),
            ca=True,
            apple_oid=WWDR_INTERMEDIATE_OID if apple_oids else None,
        )
        self.leaf_key = ec.generate_private_key(ec.SECP256R1())
        leaf = _certificate(
            "Test Prod ECC Mac App Store and iTunes Store Receipt Signing",
            self.leaf_key,
            (self.intermediate, intermediate_key),
            ca=False,
            apple_oid=APP_STORE_LEAF_OID if apple_oids else None,
        )
        self.x5c = [
            base64.b64encode(cert.public_bytes(serialization.Encoding.DER)).decode()
            for cert in (leaf, self.intermediate, self.root)
        ]
        # The root as Apple publishes it (AppleRootCA-G3.cer is DER).
        self.root_file = directory / "root.cer"
        self.root_file.write_bytes(self.root.public_bytes(serialization.Encoding.DER))

    def sign(self, payload: dict[str, Any]) -> str:
        return jwt.encode(payload, self.leaf_key, algorithm="ES256", headers={"x5c": self.x5c})

    def transaction(
        self,
        *,
        original_transaction_id: str,
        app_account_token: str | uuid.UUID | None,
        expires_in: float = 30 * 86400,
        transaction_id: str | None = None,
        revoked: bool = False,
        signed_at: int | None = None,
        bundle_id: str = BUNDLE_ID,
        environment: str = ENVIRONMENT,
    ) -> str:
        signed_at = signed_at or now_ms()
        payload: dict[str, Any] = {
            "transactionId": transaction_id or str(uuid.uuid4().int)[:16],
            "originalTransactionId": original_transaction_id,
            "webOrderLineItemId": str(uuid.uuid4().int)[:16],
            "bundleId": bundle_id,
            "productId": PRODUCT_ID,
            "subscriptionGroupIdentifier": "21000000",
            "purchaseDate": signed_at - 60_000,
            "originalPurchaseDate": signed_at - 60_000,
            "expiresDate": signed_at + int(expires_in * 1000),
            "quantity": 1,
            "type": "Auto-Renewable Subscription",
            "inAppOwnershipType": "PURCHASED",
            "signedDate": signed_at,
            "environment": environment,
            "transactionReason": "PURCHASE",
            "storefront": "CZE",
            "storefrontId": "143489",
            "price": 9990,
            "currency": "EUR",
        }
        if app_account_token is not None:
            payload["appAccountToken"] = str(app_account_token)
        if revoked:
            payload["revocationDate"] = signed_at
            payload["revocationReason"] = 0
        return self.sign(payload)

    def renewal(
        self,
        *,
        original_transaction_id: str,
        auto_renew: bool = True,
        grace_period_expires_in: float | None = None,
        environment: str = ENVIRONMENT,
    ) -> str:
        payload: dict[str, Any] = {
            "originalTransactionId": original_transaction_id,
            "autoRenewProductId": PRODUCT_ID,
            "productId": PRODUCT_ID,
            "autoRenewStatus": 1 if auto_renew else 0,
            "signedDate": now_ms(),
            "environment": environment,
            "recentSubscriptionStartDate": now_ms(-60),
            "renewalDate": now_ms(30 * 86400),
        }
        if grace_period_expires_in is not None:
            payload["gracePeriodExpiresDate"] = now_ms(grace_period_expires_in)
            payload["isInBillingRetryPeriod"] = True
        return self.sign(payload)

    def notification(
        self,
        notification_type: str,
        subtype: str | None = None,
        *,
        signed_transaction: str | None = None,
        signed_renewal: str | None = None,
        notification_uuid: str | None = None,
        signed_at: int | None = None,
        bundle_id: str = BUNDLE_ID,
        environment: str = ENVIRONMENT,
        app_apple_id: int = APP_APPLE_ID,
    ) -> str:
        data: dict[str, Any] = {
            "appAppleId": app_apple_id,
            "bundleId": bundle_id,
            "bundleVersion": "42",
            "environment": environment,
            "status": 1,
        }
        if signed_transaction is not None:
            data["signedTransactionInfo"] = signed_transaction
        if signed_renewal is not None:
            data["signedRenewalInfo"] = signed_renewal
        payload: dict[str, Any] = {
            "notificationType": notification_type,
            "notificationUUID": notification_uuid or str(uuid.uuid4()),
            "data": data,
            "version": "2.0",
            "signedDate": signed_at or now_ms(),
        }
        if subtype is not None:
            payload["subtype"] = subtype
        return self.sign(payload)


def settings_env(signer: AppStoreSigner) -> dict[str, str]:
    """The auth service's environment for this signer's root."""
    return {
        "PARLEY_APP_STORE_ROOT_CERTS": f'["{signer.root_file}"]',
        "PARLEY_APP_STORE_BUNDLE_ID": BUNDLE_ID,
        "PARLEY_APP_STORE_ENVIRONMENT": ENVIRONMENT,
        "PARLEY_APP_STORE_APP_APPLE_ID": str(APP_APPLE_ID),
    }
