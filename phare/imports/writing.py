"""The writing half of a large export: the file's text is made in a forked child process while the parent reads.

Reading the cases (the queries, opening the sealed values, assembling the bundles) and turning the bundles into a
file's text (the sheet layout and the CSV writer, or the JSON encoder) each take a core's time; on a machine with
a second core they overlap instead of taking turns. The division keeps every guarantee in the parent: only the
parent touches the database (through the caller's scoped queryset, with its checks of each sealed value) and the
file (`out`, sealed at rest or a path the user chose); the child is given the bundles through a pipe and gives back
the bytes the same writer makes in-process (`htcds.sources.export`), which the parent writes. The child stops as
soon as its parent is gone, even after `kill -9`, and the parent stops the child when reading fails.
"""

from __future__ import annotations

import contextlib
import fcntl
import gc
import io
import marshal
import multiprocessing
import os
import pickle
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from itertools import islice
from pathlib import Path
from typing import IO, Any

from django.conf import settings

from phare.crypto.fields import TamperedValueError
from phare.crypto.sealed import SealedFile

CHUNK = 250  # bundles per message to the writing process
BUFFER = 1 << 20  # bytes of the file per message back
COLLECT_EVERY = 5000  # the child collects the few cycles its writer makes (the json encoder's) this often
Writer = Callable[..., int]


class WriteError(Exception):
    """The process writing the file failed or vanished; the export leaves no file (the caller removes it)."""


def use_writer_process(cases: int) -> bool:
    """A child writes when there is a second core, fork is available, and the export is big enough to pay for it."""
    if not getattr(settings, "PHARE_EXPORT_WRITER_PROCESS", True) or (os.cpu_count() or 1) < 2:
        return False
    if "fork" not in multiprocessing.get_all_start_methods():
        return False
    return cases >= int(getattr(settings, "PHARE_EXPORT_WRITER_MIN_CASES", 10_000))


PIPE_BYTES = 1 << 20  # each pipe's buffer (Linux's default limit for a process without privileges)


def _widen(fd: int) -> None:
    """A larger pipe buffer: each side can run ahead of the other by more than a message."""
    with contextlib.suppress(AttributeError, OSError):  # not Linux, or not allowed: the default only means more waits
        fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, PIPE_BYTES)


class _Sink:
    """The `path` the child's writer opens (htcds.sources.export.Openable): a file whose bytes go to the parent
    through a pipe, text encoded as a file opened with the same arguments encodes it."""

    name = "export"

    def __init__(self, fd: int) -> None:
        self._fd = fd

    def open(self, mode: str, buffering: int = -1, encoding: str | None = None, errors: str | None = None,
             newline: str | None = None) -> IO[Any]:  # fmt: skip
        if mode not in ("w", "wb"):
            raise ValueError(f"the export's text is only written, not opened with {mode!r}")
        binary = open(self._fd, "wb", buffering=BUFFER, closefd=False)  # noqa: SIM115 (the writer closes it)
        if mode == "wb":
            return binary
        return io.TextIOWrapper(binary, encoding=encoding or "utf-8", errors=errors, newline=newline)


def write(writer: Writer, bundles: Iterable[Any], out: Path | SealedFile, per_message: int = CHUNK,
          cases: Callable[[Any], int] | None = None) -> int:  # fmt: skip
    """`writer(bundles, out)`, with the writer run in a child process; returns what it returns (how many cases). The
    file is exactly the one `writer` writes in-process. `bundles` are sent `per_message` at a time; each is a case,
    or holds `cases(item)` of them (phare.imports.exporting.TemplateChunk)."""
    ctx = multiprocessing.get_context("fork")
    down_read, down = ctx.Pipe(duplex=False)  # bundles to the child
    status, status_write = ctx.Pipe(duplex=False)  # the child's last word: how many it wrote, or its error
    up, up_write = os.pipe()  # the file's bytes, a plain stream: read here without a message's framing
    for fd in (down.fileno(), up):
        _widen(fd)
    proc = ctx.Process(target=_child, args=(writer, down_read, up_write, status_write, (down, up, status), os.getpid()),
                       daemon=True, name="phare-export-writer")  # fmt: skip
    failed: list[str] = []
    sent = 0
    finished = False
    try:
        try:
            proc.start()
        finally:
            down_read.close()
            status_write.close()
            os.close(up_write)  # the child holds the only writing end: its end of the file is the pipe's
        with out.open("wb") as fh:
            # The bytes are received and written beside the reading, by a thread: it waits on the pipe without the
            # interpreter's lock and takes it once per read of up to a pipe's buffer (a message per read would wait
            # for the reading thread's turn each time, and hold the child back).
            receiver = threading.Thread(target=_receive, args=(up, fh, failed), daemon=True,
                                        name="phare-export-receiver")  # fmt: skip
            receiver.start()
            try:
                it = iter(bundles)
                while chunk := list(islice(it, per_message)):
                    down.send_bytes(_packed(chunk))
                    sent += len(chunk) if cases is None else sum(map(cases, chunk))
                down.send_bytes(b"")
            except (BrokenPipeError, ConnectionResetError):
                pass  # the child is gone: its status says why
            except BaseException:
                proc.kill()  # reading failed: nothing more is written, and the receiver sees the pipe end
                raise
            finally:
                down.close()
                receiver.join()  # before the file is closed (or abandoned, on an error)
            word = status.recv() if status.poll(5) else ("error", "the process writing the export stopped")
            if failed:
                raise WriteError(f"writing the export failed: {failed[0]}")
            if word[0] == "tampered":
                raise TamperedValueError(word[1])  # as the reading raises it: a value sealed for another row
            if word[0] != "done":
                raise WriteError(f"writing the export failed: {word[1]}")
            if word[1] != sent:
                raise WriteError(f"the process writing the export wrote {word[1]} of {sent} cases")
        finished = True
        return sent
    except EOFError:
        raise WriteError(f"the process writing the export stopped (exit code {proc.exitcode})") from None
    finally:
        if proc.pid is not None:
            proc.join(timeout=5 if finished else 0)  # (it exits once it has said its last word)
            if proc.is_alive():
                proc.kill()
            proc.join()
        down.close()
        os.close(up)
        status.close()


def _packed(chunk: list[Any]) -> bytes:
    # marshal: the bundles hold only what JSON holds (dicts, lists, texts, numbers), and it is a third faster than
    # pickle for them, in the process that has the most to do. Pickle for anything else a bundle may come to hold.
    try:
        return b"m" + marshal.dumps(chunk)
    except ValueError:
        return b"p" + pickle.dumps(chunk, pickle.HIGHEST_PROTOCOL)


def _unpacked(message: bytes) -> list[Any]:
    # (from the parent alone, through a pipe nothing else holds)
    data = memoryview(message)[1:]
    return marshal.loads(data) if message[:1] == b"m" else pickle.loads(data)  # type: ignore[no-any-return]


def _receive(up: int, fh: IO[bytes], failed: list[str]) -> None:
    try:
        while data := os.read(up, PIPE_BYTES):
            fh.write(data)
    except Exception as exc:  # the file could not be written: the export fails once the child has finished
        failed.append(f"{type(exc).__name__}: {exc}")
        while os.read(up, PIPE_BYTES):  # (drained, so that the child is never stuck on a full pipe)
            pass


def _child(writer: Writer, down: Any, up: int, status: Any, parents: tuple[Any, int, Any], parent: int) -> None:
    # The parent's ends of the pipes, inherited by the fork: closed, so that each pipe ends when its writer closes it.
    parents[0].close()
    os.close(parents[1])
    parents[2].close()

    # A parent killed with -9 cannot stop its writer: the writer stops itself once its parent is gone.
    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()

    def received() -> Iterator[Any]:
        n = 0
        while message := down.recv_bytes():
            for bundle in _unpacked(message):
                yield bundle
                n += 1
                if n % COLLECT_EVERY == 0:
                    gc.collect(0)  # the cycle collector is off, as in the parent (bulk.relaxed_gc)

    try:
        n = writer(received(), _Sink(up))
        os.close(up)
        status.send(("done", n))
    except TamperedValueError as exc:  # (a writer that opens sealed values: phare.imports.exporting)
        with contextlib.suppress(OSError):
            status.send(("tampered", str(exc)))
    except BaseException as exc:  # reported to the parent, which raises it
        with contextlib.suppress(OSError):  # (the parent is gone)
            status.send(("error", f"{type(exc).__name__}: {exc}"))
