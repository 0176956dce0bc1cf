"""Run a generator in a forked child process while this one consumes what it yields: a bulk load's preparation
(reading and checking a file, or generating demo cases, and sealing new people's fields) then overlaps with its
writing instead of taking turns with it, on a second core.

The child never touches the database: whatever it needs from there (keys) is fetched before the fork. It sends
its items in chunks through a bounded queue (so it runs at most `ahead` items ahead, and memory stays flat), and
exits as soon as its parent is gone, even after `kill -9`. An exception in the child, or its death, is raised
here as ForkedError: the caller's transaction rolls back what it wrote.
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import threading
import time
from collections.abc import Callable, Generator, Iterator
from typing import Any

from django.conf import settings


class ForkedError(Exception):
    """The child process failed or vanished."""


def available() -> bool:
    """Whether a second process may help: a second core, fork, and not switched off (PHARE_IMPORT_READER_PROCESS,
    which imports named first, switches off the demo generator's as well)."""
    if not getattr(settings, "PHARE_IMPORT_READER_PROCESS", True) or (os.cpu_count() or 1) < 2:
        return False
    return "fork" in multiprocessing.get_all_start_methods()


def items(produce: Callable[[], Iterator[Any]], *, name: str, chunk: int = 250, ahead: int = 6000,
          state: Callable[[], Any] = lambda: None, on_state: Callable[[Any], None] = lambda _: None,
          end: Callable[[], Any] = lambda: None, on_end: Callable[[Any], None] = lambda _: None) -> Generator[Any, None, None]:  # fmt: skip
    """What `produce()` yields, produced in a forked child. With each chunk the child sends `state()`, given here to
    `on_state`; after the last item, `end()`, given to `on_end` before this generator returns."""
    ctx = multiprocessing.get_context("fork")
    q: Any = ctx.Queue(maxsize=max(2, ahead // chunk))
    args = (produce, chunk, state, end, q, os.getpid())
    proc = ctx.Process(target=_child, args=args, daemon=True, name=name)
    proc.start()
    try:
        while True:
            try:
                kind, *payload = q.get(timeout=1.0)
            except queue.Empty:
                if proc.is_alive():
                    continue
                try:  # its last message may have arrived as it exited
                    kind, *payload = q.get(timeout=1.0)
                except queue.Empty:
                    raise ForkedError(f"the {name} process stopped (exit code {proc.exitcode})") from None
            if kind == "items":
                on_state(payload[1])
                yield from payload[0]
            elif kind == "end":
                on_end(payload[0])
                return
            else:
                raise ForkedError(f"the {name} process failed: {payload[0]}")
    finally:
        if proc.is_alive():
            proc.kill()
        proc.join()
        q.close()


def _child(produce: Callable[[], Iterator[Any]], size: int, state: Callable[[], Any], end: Callable[[], Any], q: Any,
           parent: int) -> None:  # fmt: skip
    # A parent killed with -9 cannot stop its child: the child stops itself once its parent is gone, whether it is
    # producing, waiting for room in the queue or flushing its last chunk.
    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()
    try:
        chunk: list[Any] = []
        for item in produce():
            chunk.append(item)
            if len(chunk) == size:
                q.put(("items", chunk, state()))
                chunk = []
        if chunk:
            q.put(("items", chunk, state()))
        q.put(("end", end()))
    except Exception as exc:
        q.put(("error", f"{type(exc).__name__}: {exc}"))
