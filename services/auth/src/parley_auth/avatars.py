"""Avatar images: PNG, JPEG or WebP only (checked by decoding, never by name or header),
size-limited, re-encoded without metadata and scaled down, kept in the ``avatars`` storage
area (local directory or S3, see parley_common.storage)."""

from __future__ import annotations

import asyncio
import io
import re
import uuid
from collections.abc import AsyncIterator

from PIL import Image, UnidentifiedImageError

from parley_auth.config import AuthSettings
from parley_auth.errors import AvatarNotFound, InvalidImage
from parley_common.errors import PayloadTooLarge
from parley_common.storage import Storage, StoredObjectMissing

FORMATS = {
    "PNG": ("png", "image/png"),
    "JPEG": ("jpg", "image/jpeg"),
    "WEBP": ("webp", "image/webp"),
}
CONTENT_TYPES = {ext: content_type for ext, content_type in FORMATS.values()}
_FILE_NAME = re.compile(r"^[0-9a-f]{32}\.(png|jpg|webp)$")
MAX_PIXELS = 40_000_000  # refuse decompression bombs before decoding


def _reencode(data: bytes, max_side: int) -> tuple[bytes, str]:
    try:
        with Image.open(io.BytesIO(data)) as probe:
            fmt = probe.format
            if fmt not in FORMATS:
                raise InvalidImage()
            if probe.width * probe.height > MAX_PIXELS:
                raise InvalidImage("The image has too many pixels.")
            probe.verify()
        with Image.open(io.BytesIO(data)) as opened:
            opened.load()
            image: Image.Image = opened
            image.thumbnail((max_side, max_side))
            if fmt == "JPEG" and image.mode not in ("RGB", "L"):
                image = image.convert("RGB")
            out = io.BytesIO()
            image.save(out, format=fmt)  # drops EXIF and any trailing payload
    except InvalidImage:
        raise
    except (
        UnidentifiedImageError,
        OSError,
        SyntaxError,
        ValueError,
        Image.DecompressionBombError,
    ) as exc:
        raise InvalidImage() from exc
    return out.getvalue(), FORMATS[fmt][0]


async def store_avatar(settings: AuthSettings, storage: Storage, data: bytes) -> str:
    """Validate and store an upload; returns the file name."""
    if len(data) > settings.avatar_max_bytes:
        raise PayloadTooLarge(f"Avatars are limited to {settings.avatar_max_bytes} bytes.")
    image, ext = await asyncio.to_thread(_reencode, data, settings.avatar_max_side)
    name = f"{uuid.uuid4().hex}.{ext}"
    await storage.save(name, image)
    return name


def avatar_url(settings: AuthSettings, name: str) -> str:
    return f"{settings.public_url.rstrip('/')}/api/v1/avatars/{name}"


async def open_avatar(storage: Storage, name: str) -> tuple[AsyncIterator[bytes], str]:
    """The stored bytes and their content type; only names this service generated are served."""
    match = _FILE_NAME.match(name)
    if match is None:
        raise AvatarNotFound()
    try:
        return await storage.open(name), CONTENT_TYPES[match.group(1)]
    except StoredObjectMissing:
        raise AvatarNotFound() from None
