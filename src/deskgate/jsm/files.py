"""Attachment bodies both ways: a multipart upload that can stream, and a download that streams; and the
one cleaning of a file name that every upload path uses before the name is stored, sent or shown."""

from __future__ import annotations

import secrets
import unicodedata
from collections.abc import AsyncIterable, AsyncIterator
from types import TracebackType

import httpx

FileContent = bytes | AsyncIterable[bytes]
MAX_FILENAME_BYTES = 255  # what common file systems (and JSM's) take; UTF-8 bytes
# Bidirectional controls make "cod.exe" read as "exe.doc"; Unicode's bidi formatting characters.
_BIDI = (
    frozenset("\u061c\u200e\u200f")
    | frozenset(map(chr, range(0x202A, 0x202F)))
    | frozenset(map(chr, range(0x2066, 0x206A)))
)
_DROPPED_CATEGORIES = frozenset({"Cc", "Cs", "Co", "Cn", "Zl", "Zp"})  # controls (NUL too), surrogates…


def clean_filename(name: str) -> str:
    """The name a customer's file is stored, sent to JSM and shown under: its last path component (some
    browsers send the whole client path), without control characters, bidi overrides or line breaks,
    NFC-normalised, at most 255 UTF-8 bytes (the extension kept), never empty, `.` or `..`."""
    text = unicodedata.normalize("NFC", name.replace("\\", "/").rsplit("/", 1)[-1])
    text = "".join(c for c in text if c not in _BIDI and unicodedata.category(c) not in _DROPPED_CATEGORIES)
    text = _fit(unicodedata.normalize("NFC", text).strip())
    return "attachment" if text in ("", ".", "..") else text


def _fit(name: str) -> str:
    if len(name.encode()) <= MAX_FILENAME_BYTES:
        return name
    stem, dot, extension = name.rpartition(".")
    if not dot or not stem or len(extension) > 16:
        stem, extension = name, ""
    suffix = f".{extension}" if extension else ""
    room = MAX_FILENAME_BYTES - len(suffix.encode())
    cut = stem.encode()[:room].decode(errors="ignore").rstrip()
    fitted = unicodedata.normalize("NFC", cut + suffix)
    while len(fitted.encode()) > MAX_FILENAME_BYTES:  # normalising may (rarely) grow it: cut again
        fitted = fitted[:-1]
    return fitted


def _quoted(name: str) -> str:
    # A quoted-string (RFC 7578 / 2183): backslash and quote escaped, line breaks dropped, UTF-8 kept.
    flat = name.replace("\r", " ").replace("\n", " ")
    return flat.replace("\\", "\\\\").replace('"', '\\"')


def multipart_file(
    filename: str, content: FileContent, content_type: str, *, part: str = "file"
) -> tuple[str, FileContent]:
    """(the Content-Type header, the body) of a multipart/form-data upload of one file.

    httpx's own multipart wants files it can read synchronously; this streams an async source as it comes.
    """
    boundary = secrets.token_hex(16)
    head = (
        f"--{boundary}\r\n"
        f'Content-Disposition: form-data; name="{part}"; filename="{_quoted(clean_filename(filename))}"\r\n'
        f"Content-Type: {content_type.replace(chr(13), '').replace(chr(10), '')}\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    header = f"multipart/form-data; boundary={boundary}"
    if isinstance(content, bytes):
        return header, head + content + tail

    async def body() -> AsyncIterator[bytes]:
        yield head
        async for chunk in content:
            yield chunk
        yield tail

    return header, body()


class AttachmentDownload:
    """An attachment's content as JSM sends it: read `content_type` and `size` first, then stream.

    Close it (or use `async with`) when done; `iter_bytes` closes it at the end by itself.
    """

    def __init__(self, response: httpx.Response) -> None:
        self._response = response
        self.content_type = response.headers.get("content-type", "application/octet-stream")
        length = response.headers.get("content-length")
        self.size: int | None = int(length) if length and length.isdigit() else None

    async def iter_bytes(self, chunk_size: int = 64 * 1024) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._response.aiter_bytes(chunk_size):
                yield chunk
        finally:
            await self.aclose()

    async def read(self) -> bytes:
        return b"".join([chunk async for chunk in self.iter_bytes()])

    async def aclose(self) -> None:
        await self._response.aclose()

    async def __aenter__(self) -> AttachmentDownload:
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()
