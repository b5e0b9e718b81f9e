"""Bug reports, app links, avatars and the internal JWKS."""

from __future__ import annotations

import base64
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from fastapi import APIRouter, status
from fastapi.responses import StreamingResponse

from parley_auth import avatars, bug_reports
from parley_auth.deps import ActiveAgent, AuthSettingsDep, LimiterDep
from parley_auth.errors import AvatarNotFound, SessionRevoked
from parley_auth.schemas import AppLinksOut, BugReportIn, BugReportOut
from parley_common.db import SessionDep
from parley_common.errors import TooManyRequests, responses
from parley_common.storage import StorageDep

router = APIRouter(prefix="/api/v1", tags=["support"])
internal = APIRouter(prefix="/internal", include_in_schema=False)


@router.post(
    "/bug-reports",
    status_code=status.HTTP_201_CREATED,
    response_model=BugReportOut,
    responses=responses(TooManyRequests, SessionRevoked),
)
async def report_bug(
    body: BugReportIn,
    agent: ActiveAgent,
    session: SessionDep,
    limiter: LimiterDep,
    settings: AuthSettingsDep,
) -> BugReportOut:
    """Send a bug report to support (e-mailed; limited per agent per hour)."""
    return await bug_reports.report_bug(session, agent, body, limiter=limiter, settings=settings)


@router.get("/app/links", response_model=AppLinksOut)
async def app_links(settings: AuthSettingsDep) -> AppLinksOut:
    """Help centre, terms, privacy and GDPR pages (configurable)."""
    return AppLinksOut(
        help_center_url=settings.help_center_url,
        terms_url=settings.terms_url,
        privacy_url=settings.privacy_url,
        gdpr_url=settings.gdpr_url,
    )


@router.get(
    "/avatars/{name}", response_class=StreamingResponse, responses=responses(AvatarNotFound)
)
async def get_avatar(name: str, storage: StorageDep) -> StreamingResponse:
    """An uploaded avatar (public: the chat box shows it to visitors)."""
    body, content_type = await avatars.open_avatar(storage, name)
    return StreamingResponse(
        body,
        media_type=content_type,
        headers={
            "Cache-Control": "public, max-age=86400, immutable",
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": "default-src 'none'",
        },
    )


@internal.get("/jwks")
async def jwks(settings: AuthSettingsDep) -> dict[str, Any]:
    """The public key agent tokens are signed with, as a JSON Web Key Set."""
    key = serialization.load_pem_public_key(settings.jwt_public_key_file.read_bytes())
    assert isinstance(key, Ed25519PublicKey)
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    x = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
    kid = base64.urlsafe_b64encode(raw[:12]).rstrip(b"=").decode()
    return {
        "keys": [{"kty": "OKP", "crv": "Ed25519", "x": x, "alg": "EdDSA", "use": "sig", "kid": kid}]
    }
