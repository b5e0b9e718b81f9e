"""Avatar images: PNG, JPEG or WebP only (checked by decoding, never by name or header),
size-limited, re-encoded without metadata and scaled down, stored under storage_dir/avatars."""

from __future__ import annotations

import asyncio
import io
import re
import uuid
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from parley_auth.config import AuthSettings
from parley_auth.errors import AvatarNotFound, InvalidImage
from parley_common.errors import PayloadTooLarge

FORMATS = {
    "PNG": ("png", "image/png"),
    "JPEG": ("jpg", "image/jpeg"),
    "WEBP": ("webp", "image/webp"),
}
CONTENT_TYPES = {ext: content_type for ext, content_type in FORMATS.values()}
_FILE_NAME = re.compile(r"^[0-9a-f]{32}\.(png|jpg|webp)$")
MAX_PIXELS = 40_000_000  # refuse decompression bombs before decoding


def avatar_dir(settings: AuthSettings) -> Path:
    return settings.storage_dir / "avatars"


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


async def store_avatar(settings: AuthSettings, data: bytes) -> str:
    """Validate and store an upload; returns the file name."""
    if len(data) > settings.avatar_max_bytes:
        raise PayloadTooLarge(f"Avatars are limited to {settings.avatar_max_bytes} bytes.")
    image, ext = await asyncio.to_thread(_reencode, data, settings.avatar_max_side)
    name = f"{uuid.uuid4().hex}.{ext}"
    folder = avatar_dir(settings)
    await asyncio.to_thread(folder.mkdir, parents=True, exist_ok=True)
    await asyncio.to_thread((folder / name).write_bytes, image)
    return name


def avatar_url(settings: AuthSettings, name: str) -> str:
    return f"{settings.public_url.rstrip('/')}/api/v1/avatars/{name}"


def avatar_path(settings: AuthSettings, name: str) -> tuple[Path, str]:
    """The stored file and its content type; only names this service generated are served."""
    match = _FILE_NAME.match(name)
    path = avatar_dir(settings) / name
    if match is None or not path.is_file():
        raise AvatarNotFound()
    return path, CONTENT_TYPES[match.group(1)]
