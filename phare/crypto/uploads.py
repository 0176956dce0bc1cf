"""Uploads never in clear on disk, even while the request that brings them is read.

Django keeps an upload larger than FILE_UPLOAD_MAX_MEMORY_SIZE in a temporary file, in clear, until the request
ends. `SealedUploadHandler` takes its place: the upload is sealed as it arrives (the chunked AES-GCM stream of
`phare.crypto.sealed`) under a key only this request holds in memory, into an unnamed temporary file, and opened a
chunk at a time when it is read. Smaller uploads stay in memory, as with Django's own handlers.
"""

from __future__ import annotations

import io
import tempfile
from collections.abc import Iterator
from typing import IO, TYPE_CHECKING, Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler

from phare.crypto import sealed

_BINDING = b"upload"

if TYPE_CHECKING:
    _Uploaded = UploadedFile[bytes]  # generic in django-stubs only
else:
    _Uploaded = UploadedFile


class _Kept(io.RawIOBase):
    """The temporary file under the sealing stream, which stays open when the stream is closed."""

    def __init__(self, fh: IO[bytes]) -> None:
        super().__init__()
        self._fh = fh

    def readable(self) -> bool:
        return True

    def writable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        return self._fh.read(size)

    def write(self, data: Any) -> int:
        return self._fh.write(data)

    def close(self) -> None:
        super().close()


class SealedUploadedFile(_Uploaded):
    """An upload held sealed in an unnamed temporary file; reads give its content, from the start after `seek(0)`."""

    def __init__(self, name: str, content_type: str | None, size: int | None, charset: str | None,
                 content_type_extra: dict[str, bytes] | None = None) -> None:  # fmt: skip
        self._tmp = tempfile.TemporaryFile(dir=settings.FILE_UPLOAD_TEMP_DIR)  # noqa: SIM115 (closed with the upload)
        self._key = AESGCM.generate_key(256)
        self._sealing: io.BufferedWriter | None = io.BufferedWriter(
            sealed._Writer(_Kept(self._tmp), self._key, "upload", _BINDING), sealed.CHUNK
        )
        super().__init__(None, name, content_type, size, charset, content_type_extra)

    def feed(self, data: bytes) -> None:
        assert self._sealing is not None, "the upload is complete"
        self._sealing.write(data)

    def complete(self, size: int) -> None:
        if self._sealing is not None:
            self._sealing.close()
            self._sealing = None
        self.size = size
        self._rewind()

    def _rewind(self) -> None:
        self._tmp.seek(0)
        self.file = io.BufferedReader(sealed._Reader(_Kept(self._tmp), lambda _kid: self._key, _BINDING), sealed.CHUNK)

    def seek(self, offset: int, whence: int = 0) -> int:
        if offset or whence:
            raise io.UnsupportedOperation("a sealed upload is read from the start")
        self._rewind()
        return 0

    def open(self, mode: str | None = None, *args: Any, **kwargs: Any) -> SealedUploadedFile:
        self._rewind()
        return self

    def chunks(self, chunk_size: int | None = None) -> Iterator[bytes]:
        self._rewind()
        while data := self.read(chunk_size or self.DEFAULT_CHUNK_SIZE):
            yield data

    def close(self) -> None:
        self._tmp.close()


class SealedUploadHandler(FileUploadHandler):
    """Stands in for Django's TemporaryFileUploadHandler (after its MemoryFileUploadHandler in FILE_UPLOAD_HANDLERS)."""

    file: SealedUploadedFile

    def new_file(self, *args: Any, **kwargs: Any) -> None:
        super().new_file(*args, **kwargs)
        self.file = SealedUploadedFile(str(self.file_name), self.content_type, 0, self.charset, self.content_type_extra)

    def receive_data_chunk(self, raw_data: bytes, start: int) -> None:
        self.file.feed(raw_data)

    def file_complete(self, file_size: int) -> SealedUploadedFile:
        self.file.complete(file_size)
        return self.file

    def upload_interrupted(self) -> None:
        if hasattr(self, "file"):
            self.file.close()
