"""Tiny valid files (JPEG, PNG, PDF, GIF), large JPEG-looking files, and base64."""

from __future__ import annotations

import base64
import functools
import struct
import zlib
from pathlib import Path

MAX_UPLOAD_BYTES = 15 * 1024 * 1024

# A real 16x16 baseline JPEG (543 bytes).
JPEG_BYTES = base64.b64decode(
    "/9j/4AAQSkZJRgABAQEAAQABAAD/2wBDAAMCAgICAgMCAgIDAwMDBAYEBAQEBAgGBgUGCQgKCgkICQkKDA8MCgsOCwkJDRENDg8QEBEQ"
    "CgwSExIQEw8QEBD/2wBDAQMDAwQDBAgEBAgQCwkLEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQ"
    "EBD/wAARCAAQABADASIAAhEBAxEB/8QAFgABAQEAAAAAAAAAAAAAAAAABwQF/8QAJBAAAQQBBAICAwAAAAAAAAAAAQIDBAYFBwgSExEi"
    "ABQJMTL/xAAVAQEBAAAAAAAAAAAAAAAAAAAABv/EACMRAAECBQMFAAAAAAAAAAAAAAECEQMEBQYhABIxFRZhgeH/2gAMAwEAAhEDEQA/"
    "ABSm0mobc8HmExLUlRzzEWPkJWW+ulrsaUVAseUgslSlH9LKuPryIKuWPZdskzXmm3fX5m2nF4GlVxx/HOpx4ks51+MiU/Iaad7UcUo4"
    "tILoS4kqcWkezS0hO/HvuRp0rO6hWnWO1UisZVuFi4GFeyEpmGepa5S5SWVPuciFKRFLgSrwetnyPIB+Vb4N9mKhQMzo5po9XLdDs9d6"
    "ZVix2VEhiL9kuNPxw2gEKcDQ/rs8AuA8VAe0vdl7VOYn+27flGAUgmITjbhSmCg3BYlyeWDkMolvw4KOp1KM6iCNvngZHwetf//Z"
)


def _png_1x1() -> bytes:
    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)  # 1x1, 8-bit RGB
    pixels = zlib.compress(b"\x00\xff\xff\xff")
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


PNG_BYTES = _png_1x1()
PDF_BYTES = (
    b"%PDF-1.4\n"
    b"1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
    b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 72 72]>>endobj\n"
    b"trailer<</Root 1 0 R>>\n"
    b"%%EOF\n"
)
GIF_BYTES = b"GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;"  # noqa: E501

FILES = {  # kind -> (bytes, file name, MIME type)
    "jpeg": (JPEG_BYTES, "document.jpg", "image/jpeg"),
    "png": (PNG_BYTES, "document.png", "image/png"),
    "pdf": (PDF_BYTES, "document.pdf", "application/pdf"),
}


@functools.lru_cache(maxsize=2)
def big_jpeg(size: int) -> bytes:
    """A file of exactly `size` bytes that starts like a JPEG (cached: built at most once per size)."""
    return JPEG_BYTES + b"\0" * (size - len(JPEG_BYTES))


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def document_folder(folder: Path) -> Path:
    """`folder`, created, holding one valid file of each type: passport.jpg, selfie.png and address.pdf."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "passport.jpg").write_bytes(JPEG_BYTES)
    (folder / "selfie.png").write_bytes(PNG_BYTES)
    (folder / "address.pdf").write_bytes(PDF_BYTES)
    return folder
