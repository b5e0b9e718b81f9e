"""Streaming multipart parsing: the file part's bytes as they arrive, never buffered whole."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from python_multipart.multipart import MultipartParser, MultipartState, parse_options_header
from starlette.requests import Request

from parley_common.errors import DomainError, InvalidInput


class UploadInvalid(InvalidInput):
    code, title = "upload_invalid", "Send the file as multipart/form-data field `file`"


class UploadIncomplete(DomainError):
    status, code, title = 400, "upload_incomplete", "The multipart body is incomplete"


@dataclass
class _PartState:
    header_field: bytes = b""
    header_value: bytes = b""
    headers: dict[bytes, bytes] = field(default_factory=dict)
    in_file: bool = False
    seen_file: bool = False
    filename: str | None = None
    pending: list[bytes] = field(default_factory=list)


class MultipartFile:
    """``async for chunk in upload.chunks()``; ``upload.filename`` once the first chunk came."""

    def __init__(self, request: Request, field_name: str = "file") -> None:
        content_type, options = parse_options_header(request.headers.get("content-type", ""))
        if content_type != b"multipart/form-data" or b"boundary" not in options:
            raise UploadInvalid()
        self.request = request
        self.field_name = field_name.encode()
        self.state = _PartState()
        self.parser = MultipartParser(
            options[b"boundary"],
            callbacks={
                "on_part_begin": self._part_begin,
                "on_header_field": self._header_field,
                "on_header_value": self._header_value,
                "on_header_end": self._header_end,
                "on_headers_finished": self._headers_finished,
                "on_part_data": self._part_data,
                "on_part_end": self._part_end,
            },
        )

    @property
    def filename(self) -> str | None:
        return self.state.filename

    def _part_begin(self) -> None:
        self.state.headers = {}
        self.state.in_file = False

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self.state.header_field += data[start:end]

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self.state.header_value += data[start:end]

    def _header_end(self) -> None:
        self.state.headers[self.state.header_field.lower()] = self.state.header_value
        self.state.header_field = self.state.header_value = b""

    def _headers_finished(self) -> None:
        _, options = parse_options_header(self.state.headers.get(b"content-disposition", b""))
        if options.get(b"name") == self.field_name and not self.state.seen_file:
            self.state.in_file = self.state.seen_file = True
            raw = options.get(b"filename")
            self.state.filename = raw.decode("utf-8", "replace") if raw is not None else None

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self.state.in_file:
            self.state.pending.append(data[start:end])

    def _part_end(self) -> None:
        self.state.in_file = False

    async def chunks(self) -> AsyncIterator[bytes]:
        async for body in self.request.stream():
            try:
                self.parser.write(body)
            except Exception as exc:
                raise UploadInvalid("The multipart body is malformed.") from exc
            pending, self.state.pending = self.state.pending, []
            for chunk in pending:
                if chunk:
                    yield chunk
        self.parser.finalize()
        if self.parser.state != MultipartState.END:
            # A body cut short (no closing boundary) is not a file we may keep.
            raise UploadIncomplete("The multipart body ends without its closing boundary.")
        if not self.state.seen_file:
            raise UploadInvalid()
