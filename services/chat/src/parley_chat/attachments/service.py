"""Attachment uploads and downloads: size-limited, typed from content, stored via Storage."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import filetype
from sqlalchemy.ext.asyncio import AsyncSession

from parley_chat.attachments import repository as repo
from parley_chat.attachments.repository import AttachmentRow
from parley_chat.errors import AttachmentInvalid, AttachmentNotFound
from parley_chat.models import Attachment
from parley_common.errors import PayloadTooLarge
from parley_common.storage import Storage

# Only raster images are ever shown inline; everything else downloads.
INLINE_TYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
SNIFF_BYTES = 8192


@dataclass(frozen=True)
class Uploader:
    type: str  # "agent" or "visitor"
    id: uuid.UUID
    account_id: uuid.UUID


def detect_type(head: bytes) -> str:
    """The content type from the bytes themselves; the client's name and header are ignored."""
    kind = filetype.guess(head)
    if kind is not None:
        return str(kind.mime)
    stripped = head.lstrip().lower()
    if stripped.startswith((b"<svg", b"<?xml")):
        return "image/svg+xml" if b"<svg" in stripped else "application/xml"
    if stripped.startswith((b"<!doctype html", b"<html")):
        return "text/html"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut at the sniff boundary is still text.
        if exc.start < len(head) - 4:
            return "application/octet-stream"
    return "text/plain"


def safe_name(name: str | None) -> str:
    base = (name or "file").replace("\\", "/").rsplit("/", 1)[-1]
    cleaned = "".join(ch for ch in base if ch.isprintable() and ch not in '"<>;').strip()
    return cleaned[:200] or "file"


def public(row: AttachmentRow | Attachment) -> dict[str, Any]:
    """The client's view of a stored row or of the model (the export reads the model)."""
    return {
        "id": row.id,
        "name": row.name,
        "size": row.size,
        "content_type": row.content_type,
        "url": f"/api/v1/attachments/{row.id}",
    }


async def upload(
    session: AsyncSession,
    storage: Storage,
    *,
    uploader: Uploader,
    filename: str | None,
    chunks: AsyncIterator[bytes],
    max_bytes: int,
) -> dict[str, Any]:
    attachment_id = uuid.uuid4()
    key = f"{uploader.account_id}/{attachment_id}"
    size = 0
    head = b""

    async def checked() -> AsyncIterator[bytes]:
        nonlocal size, head
        async for chunk in chunks:
            size += len(chunk)
            if size > max_bytes:
                raise PayloadTooLarge(f"Attachments are limited to {max_bytes} bytes.")
            if len(head) < SNIFF_BYTES:
                head += chunk[: SNIFF_BYTES - len(head)]
            yield chunk

    await storage.save(key, checked())
    if size == 0:
        await storage.delete(key)
        raise AttachmentInvalid("The file is empty.")
    row = await repo.insert(
        session,
        attachment_id=attachment_id,
        account_id=uploader.account_id,
        uploader_type=uploader.type,
        uploader_id=uploader.id,
        name=safe_name(filename),
        size=size,
        content_type=detect_type(head),
        storage_key=key,
    )
    return public(row)


async def claim(
    session: AsyncSession,
    *,
    uploader: Uploader,
    ids: Sequence[uuid.UUID],
    conversation_id: uuid.UUID,
    message_id: uuid.UUID,
) -> list[dict[str, Any]]:
    """Attach the uploader's unused uploads to a message; unknown or used ids are an error."""
    if not ids:
        return []
    unique = list(dict.fromkeys(ids))
    rows = await repo.claim_unused(
        session,
        uploader.account_id,
        ids=unique,
        uploader_type=uploader.type,
        uploader_id=uploader.id,
        conversation_id=conversation_id,
        message_id=message_id,
    )
    if len(rows) != len(unique):
        raise AttachmentInvalid("An attachment id is unknown or already used.")
    by_id = {row.id: row for row in rows}
    return [{**public(by_id[i]), "id": str(i)} for i in unique]


async def delete_unattached(
    session: AsyncSession, *, older_than_seconds: float, limit: int
) -> list[str]:
    """Forget up to ``limit`` uploads never attached to a message within the grace period;
    their storage keys (the caller deletes the files after the commit)."""
    cutoff = datetime.now(UTC) - timedelta(seconds=older_than_seconds)
    return await repo.delete_unattached(session, before=cutoff, limit=limit)


async def for_agent(
    session: AsyncSession, account_id: uuid.UUID, attachment_id: uuid.UUID
) -> AttachmentRow:
    row = await repo.get(session, account_id, attachment_id)
    if row is None:
        raise AttachmentNotFound()
    return row


async def for_visitor(
    session: AsyncSession, account_id: uuid.UUID, visitor_id: uuid.UUID, attachment_id: uuid.UUID
) -> AttachmentRow:
    """The visitor's own uploads and any attachment in one of their conversations."""
    row = await repo.get_for_visitor(session, account_id, visitor_id, attachment_id)
    if row is None:
        raise AttachmentNotFound()
    return row


def download_headers(row: AttachmentRow) -> dict[str, str]:
    disposition = "inline" if row.content_type in INLINE_TYPES else "attachment"
    ascii_name = row.name.encode("ascii", "replace").decode().replace("?", "_")
    return {
        "Content-Disposition": f'{disposition}; filename="{ascii_name}"; '
        f"filename*=UTF-8''{quote(row.name)}",
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
        "Cache-Control": "private, max-age=3600",
        "Content-Length": str(row.size),
    }
