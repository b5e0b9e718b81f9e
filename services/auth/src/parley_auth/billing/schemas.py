"""Request and response bodies of the App Store billing endpoints."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from parley_common.text import Text

# A signed notification is a few KB (three nested JWS with certificate chains).
MAX_JWS = 100_000


class AppStoreNotificationIn(BaseModel):
    """Apple's ``responseBodyV2``. Unknown fields are ignored, not refused: Apple owns this
    shape and may add to it; a 4xx would only make it retry forever."""

    model_config = ConfigDict(
        extra="ignore",
        json_schema_extra={"examples": [{"signedPayload": "eyJhbGciOiJFUzI1NiIsIng1YyI6..."}]},
    )

    signedPayload: Text = Field(min_length=1, max_length=MAX_JWS)


class AppStoreNotificationOut(BaseModel):
    received: bool = True
    outcome: Literal["applied", "duplicate", "out_of_order", "unknown_account", "test", "ignored"]


class AppStoreTransactionIn(BaseModel):
    """The JWS StoreKit 2 returned for the purchase (``Transaction.jwsRepresentation``)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"signed_transaction": "eyJhbGciOiJFUzI1NiIsIng1YyI6..."}]},
    )

    signed_transaction: Text = Field(min_length=1, max_length=MAX_JWS)
