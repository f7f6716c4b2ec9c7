"""Every file the system hands out goes through send_download: its Chinese name in the
`filename*` parameter (RFC 6266 with RFC 5987 encoding), and an ASCII name for the few clients
that read only `filename`. A temporary export file is deleted once sent."""
from __future__ import annotations

import io
import re
from pathlib import Path
from urllib.parse import quote

from flask import after_this_request, send_file

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
_UNSAFE = re.compile(r'[\\/:*?"<>|\x00-\x1f]')
_ASCII_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*\.[a-z]+$")


def content_disposition(name: str, fallback: str) -> str:
    """`attachment; filename="fallback"; filename*=UTF-8''<name, percent-encoded>`; characters
    no file system accepts become 「_」."""
    if not _ASCII_NAME.match(fallback):
        raise ValueError(f"the ASCII fallback must be a plain file name: {fallback!r}")
    safe = _UNSAFE.sub("_", name).strip() or fallback
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(safe, safe='')}"


def send_download(source: Path | bytes, name: str, *, fallback: str, mimetype: str = XLSX,
                  delete: bool = False):
    """Send ``source`` (a file, or the bytes of one) as the download ``name``; ``delete``: the
    file is a temporary export, removed once the response is closed."""
    if delete and isinstance(source, Path):
        path = source

        @after_this_request
        def remove_file(response):
            response.call_on_close(lambda: path.unlink(missing_ok=True))
            return response

    body = io.BytesIO(source) if isinstance(source, bytes) else source
    response = send_file(body, mimetype=mimetype, as_attachment=True, download_name=fallback)
    response.headers["Content-Disposition"] = content_disposition(name, fallback)
    return response
