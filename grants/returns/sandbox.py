"""Parse untrusted workbooks in worker processes with a memory limit, so a crash or blow-up can't stop a run.

Each worker is a child interpreter running grants/workbook_worker.py, which imports only the reader: it starts in a
fraction of a second, where a multiprocessing worker would first re-import the parent's whole main module (seconds
for the CLI or a flow run, on every run). Workers are kept for later runs in the same process. File i goes to
worker i mod n, up to `WINDOW` files ahead each, so they read ahead while the caller stores; results come back in
the order of the paths. A thread per worker reads its replies, unpickled only into the classes a result is made of.

A worker that dies (a reader aborting the process, memory exhausted) was reading the oldest file it had not answered:
that file is tried once more alone in a fresh worker and, if that dies too, reported as unreadable; a fresh worker
takes over the dead one's other files. A worker that cannot start at all is an error, not a bad file.

Memory in this process stays bounded whatever the files hold: a reply is at most `MAX_REPLY_BYTES` (the worker
answers a file whose values are more with a problem; a longer reply marks the worker dead), and each worker's reader
thread holds at most `AHEAD_BYTES` of unpickled replies (beyond one) until the caller takes them (it then waits,
and so does the worker, on a full pipe). Each
result carries its reply's size (`Examined.reply_bytes`), so the caller can bound its batches too.
"""

from __future__ import annotations

import datetime
import hashlib
import pickle
import queue
import subprocess
import sys
import threading
from collections import deque
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from grants.kernel.errors import GrantsError
from grants.returns.archive import file_sha256
from grants.returns.problems import problem
from grants.returns.reader import Examined
from grants.returns.safety import Limits
from grants.returns.worker import BOOT, MAX_REPLY_BYTES, READY

WINDOW = 32  # files sent ahead to each worker (a request is a few hundred bytes: never fills the pipe)
AHEAD_BYTES = 2 * 1024 * 1024  # of replies each worker's reader thread holds before it waits for the caller
_RESULT_CLASSES = {("grants.returns.reader", "Examined"), ("grants.returns.reader", "NamedCell"),
                   ("grants.returns.problems", "Problem"), ("grants.returns.problems", "Severity"),
                   ("datetime", "date"), ("datetime", "datetime"), ("datetime", "time"), ("datetime", "timedelta")}
MAX_IDLE_POOLS = 8  # pools kept for reuse per size: callers in several threads at once (the web app) each reuse one
_pools: dict[tuple[int, int], list[list[_Worker]]] = {}
_pools_lock = threading.Lock()


class WorkerStartError(GrantsError):
    """A file-reading worker process could not start (the run can't go on)."""


class _ResultUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) not in _RESULT_CLASSES:
            raise pickle.UnpicklingError(f"a worker sent {module}.{name}, which is not part of a result")
        return getattr(datetime, name) if module == "datetime" else super().find_class(module, name)


class _ReplyTooLong(pickle.UnpicklingError):
    """A reply longer than MAX_REPLY_BYTES: the worker is not keeping to its side of the protocol."""


class _CountingReader:
    """The worker's output as the unpickler reads it, counting the bytes of the current reply (refused beyond
    MAX_REPLY_BYTES, so a worker gone wrong can't make this process hold more)."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self.count = 0

    def read(self, size: int = -1) -> bytes:
        return self._counted(self.stream.read(size if 0 <= size <= MAX_REPLY_BYTES + 1 else MAX_REPLY_BYTES + 1))

    def readline(self, size: int = -1) -> bytes:
        return self._counted(self.stream.readline(MAX_REPLY_BYTES + 1))

    def _counted(self, data: bytes) -> bytes:
        self.count += len(data)
        if self.count > MAX_REPLY_BYTES:
            raise _ReplyTooLong(f"a worker's reply is longer than {MAX_REPLY_BYTES:,} bytes")
        return data


class _Worker:
    """One worker process, the files sent to it and not yet answered, and its replies (None once it died)."""

    def __init__(self, memory_bytes: int) -> None:
        self.process = subprocess.Popen([sys.executable, "-c", BOOT], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.sent: deque[Path] = deque()
        self.replies: queue.SimpleQueue[object] = queue.SimpleQueue()
        self.stopped = False
        self._room = threading.Condition()  # guards `_waiting` and `stopped`
        self._waiting = 0  # bytes of the replies in `replies`
        threading.Thread(target=self._read, daemon=True).start()
        self.alive = self._send(list(sys.path)) and self._send(memory_bytes)

    def ready(self) -> _Worker:
        """Wait until it has set its memory limit; WorkerStartError if it died instead."""
        if not self.alive or self.take() != READY:
            self.stop()
            raise WorkerStartError("a worker process to read return files could not start (see the errors above)")
        return self

    def fill(self, todo: deque[Path], limits: Limits, staging: Path | None) -> None:
        """Send files from the front of `todo` until `WINDOW` are waiting (or it turns out to be dead)."""
        while todo and len(self.sent) < WINDOW and self.alive:
            self.alive = self._send((todo[0], limits, staging))
            if self.alive:
                self.sent.append(todo.popleft())

    def stop(self, *, kill: bool = False) -> None:
        """Close its input (it exits once idle); kill it if it does not, or at once with `kill`."""
        with self._room:  # its reader thread stops waiting for room in `replies`
            self.stopped = True
            self._room.notify_all()
        if kill:
            self.process.kill()
        try:
            if self.process.stdin is not None:
                self.process.stdin.close()
            self.process.wait(timeout=5)
        except (OSError, subprocess.TimeoutExpired):
            self.process.kill()
            self.process.wait()

    def _send(self, value: object) -> bool:
        try:
            assert self.process.stdin is not None
            pickle.dump(value, self.process.stdin, protocol=pickle.HIGHEST_PROTOCOL)
            self.process.stdin.flush()
        except OSError:  # a broken pipe: the worker is gone
            return False
        return True

    def _read(self) -> None:
        assert self.process.stdout is not None
        reader = _CountingReader(self.process.stdout)
        try:
            while not self.stopped:
                reader.count = 0
                reply = _ResultUnpickler(reader).load()
                if isinstance(reply, Examined):
                    reply.reply_bytes = reader.count
                self._put(reply)
        except Exception:  # EOF, a partial or overlong reply or a forbidden class: it died (or must be treated so)
            self.process.kill()
            self._put(None)

    def _put(self, reply: object) -> None:
        """Queue a reply once there is room (the caller takes them in order), unless the worker was stopped."""
        with self._room:
            self._room.wait_for(lambda: self._waiting < AHEAD_BYTES or self.stopped)
            self._waiting += getattr(reply, "reply_bytes", 0)
        self.replies.put(reply)

    def take(self) -> object:
        """The next reply (an Examined, READY, or None once the worker died), waiting for it."""
        reply = self.replies.get()
        with self._room:
            self._waiting -= getattr(reply, "reply_bytes", 0)
            self._room.notify_all()
        return reply


def _start(count: int, memory_bytes: int) -> list[_Worker]:
    workers = [_Worker(memory_bytes) for _ in range(count)]  # they start in parallel
    return [w.ready() for w in workers]


def shutdown() -> None:
    """Stop every idle worker (at the end of a run or a test session)."""
    with _pools_lock:
        idle = [pool for key in list(_pools) for pool in _pools.pop(key, [])]
    for pool in idle:
        for worker in pool:
            worker.stop()


def examine_each(paths: Sequence[Path], limits: Limits, workers: int = 2, staging: Path | None = None
                 ) -> Iterator[Examined]:
    """`examine` every file in worker processes, yielding results in the order of `paths` as they are ready
    (`staging`: where the workers stage a copy of each file's bytes)."""
    key = (max(1, workers), limits.memory_bytes)
    with _pools_lock:  # taken out while in use: another thread reuses another idle pool, or starts its own
        idle = _pools.get(key)
        pool = idle.pop() if idle else None
    pool = pool or _start(*key)
    todo = [deque(paths[w::len(pool)]) for w in range(len(pool))]
    try:
        for index in range(len(paths)):
            yield _next(pool, index % len(pool), todo[index % len(pool)], limits, staging)
    finally:
        with _pools_lock:
            idle = _pools.setdefault(key, [])
            keep = not any(w.sent for w in pool) and len(idle) < MAX_IDLE_POOLS  # not abandoned half-way
            if keep:
                idle.append(pool)
        if not keep:
            for worker in pool:
                worker.stop(kill=True)


def _next(pool: list[_Worker], slot: int, todo: deque[Path], limits: Limits, staging: Path | None) -> Examined:
    """The result for the file at the front of the slot's queue."""
    for _ in range(2):
        worker = pool[slot]
        worker.fill(todo, limits, staging)
        if worker.sent:
            found = worker.take()
            path = worker.sent.popleft()
            if isinstance(found, Examined):
                return found
            todo.extendleft(reversed(worker.sent))  # it died reading `path`: the rest go to a fresh worker
            pool[slot] = _replace(worker, limits)
            return _alone(path, limits, staging)
        pool[slot] = _replace(worker, limits)  # it died before the file could even be sent
    raise WorkerStartError("worker processes to read return files keep dying before they are given a file")


def _replace(worker: _Worker, limits: Limits) -> _Worker:
    worker.stop()
    return _Worker(limits.memory_bytes).ready()


def _alone(path: Path, limits: Limits, staging: Path | None) -> Examined:
    """Examine one file in a worker of its own; unreadable if that worker dies too."""
    worker = _Worker(limits.memory_bytes).ready()
    try:
        worker.fill(deque([path]), limits, staging)
        found = worker.take() if worker.sent else None
    finally:
        worker.stop()
    return found if isinstance(found, Examined) else _crashed(path)


def _crashed(path: Path) -> Examined:
    """A file whose reader died twice: hashed here in chunks (bounded memory), never parsed."""
    try:
        found = Examined(file_sha256(path), path.lstat().st_size)
    except OSError:  # gone or not a regular file: nothing to keep
        found = Examined(hashlib.sha256(str(path).encode()).hexdigest(), 0)
    found.problems = [problem("unreadable-workbook", "Reading the workbook crashed the reader or ran out of "
                              "memory; it was not opened. Please save it again as .xlsx and resend.")]
    return found

