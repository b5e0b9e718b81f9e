"""Attachment upload (agents and visitors) and authorised download."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import StreamingResponse

from parley_chat.attachments import service as attachments
from parley_chat.attachments.repository import AttachmentRow
from parley_chat.attachments.upload import MultipartFile, UploadIncomplete, UploadInvalid
from parley_chat.deps import ChatSettingsDep
from parley_chat.errors import AttachmentInvalid, AttachmentNotFound, VisitorBlocked
from parley_chat.schemas import AttachmentOut
from parley_chat.widget import service as widget
from parley_common import api_keys
from parley_common.db import SessionDep
from parley_common.errors import PayloadTooLarge, Unauthorized, responses
from parley_common.security import (
    CurrentAgent,
    CurrentVisitor,
    TokenExpired,
    authorize_agent,
    bearer_token,
    current_agent,
    verify_agent_token,
    verify_visitor_token,
)
from parley_common.storage import StorageDep, StoredObjectMissing

router = APIRouter(prefix="/api/v1", tags=["attachments"])

UPLOAD_DOC = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {"file": {"type": "string", "format": "binary"}},
                }
            }
        },
    }
}
UPLOAD_ERRORS = responses(PayloadTooLarge, UploadInvalid, UploadIncomplete, AttachmentInvalid)
MULTIPART_OVERHEAD = 64 * 1024


async def _upload(
    request: Request, session: Any, storage: Any, settings: Any, uploader: attachments.Uploader
) -> dict[str, Any]:
    length = request.headers.get("content-length")
    limit = settings.attachment_max_bytes
    if length and length.isdigit() and int(length) > limit + MULTIPART_OVERHEAD:
        raise PayloadTooLarge(f"Attachments are limited to {settings.attachment_max_bytes} bytes.")
    upload = MultipartFile(request)
    chunks = upload.chunks()
    first = await anext(chunks, b"")

    async def all_chunks() -> Any:
        if first:
            yield first
        async for chunk in chunks:
            yield chunk

    return await attachments.upload(
        session,
        storage,
        uploader=uploader,
        filename=upload.filename,
        chunks=all_chunks(),
        max_bytes=settings.attachment_max_bytes,
    )


@router.post(
    "/attachments",
    response_model=AttachmentOut,
    status_code=201,
    responses=UPLOAD_ERRORS,
    openapi_extra=UPLOAD_DOC,
)
async def upload_as_agent(
    request: Request,
    session: SessionDep,
    agent: CurrentAgent,
    storage: StorageDep,
    settings: ChatSettingsDep,
) -> dict[str, Any]:
    """Multipart field `file`; the type is detected from the content, not the name."""
    uploader = attachments.Uploader("agent", agent.agent_id, agent.account_id)
    return await _upload(request, session, storage, settings, uploader)


@router.post(
    "/widget/attachments",
    response_model=AttachmentOut,
    status_code=201,
    responses={**UPLOAD_ERRORS, **responses(VisitorBlocked)},
    openapi_extra=UPLOAD_DOC,
    tags=["widget"],
)
async def upload_as_visitor(
    request: Request,
    session: SessionDep,
    visitor: CurrentVisitor,
    storage: StorageDep,
    settings: ChatSettingsDep,
) -> dict[str, Any]:
    await widget.ensure_not_blocked(session, visitor)
    uploader = attachments.Uploader("visitor", visitor.visitor_id, visitor.account_id)
    return await _upload(request, session, storage, settings, uploader)


@router.get(
    "/attachments/{attachment_id}",
    response_class=StreamingResponse,
    responses=responses(AttachmentNotFound),
)
async def download(
    attachment_id: uuid.UUID, request: Request, session: SessionDep, storage: StorageDep
) -> StreamingResponse:
    """For the account's agents, its API keys (`conversations:read`) and the conversation's
    visitor (either bearer token).

    Raster images display inline; everything else (SVG and HTML included) downloads, with
    `nosniff` and a sandboxing CSP.
    """
    token = bearer_token(request)
    if api_keys.is_api_key(token):
        key = await current_agent(request)
        return await _stream(
            storage, await attachments.for_agent(session, key.account_id, attachment_id)
        )
    try:
        verify_agent_token(token)
    except TokenExpired:
        raise
    except Unauthorized:
        visitor = verify_visitor_token(token)
        row = await attachments.for_visitor(
            session, visitor.account_id, visitor.visitor_id, attachment_id
        )
    else:
        agent = await authorize_agent(request, token)  # a revoked session is refused
        row = await attachments.for_agent(session, agent.account_id, attachment_id)
    return await _stream(storage, row)


async def _stream(storage: Any, row: AttachmentRow) -> StreamingResponse:
    try:
        body = await storage.open(row.storage_key)
    except StoredObjectMissing:
        raise AttachmentNotFound() from None
    return StreamingResponse(
        body,
        media_type=row.content_type,
        headers=attachments.download_headers(row),
    )
