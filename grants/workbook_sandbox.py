"""Parse untrusted workbooks in worker processes with a memory limit, so a crash or blow-up can't stop a run.

A reused process pool keeps it fast. If a worker dies (a reader aborting the process, memory exhausted), the
files it may have been handling are retried one at a time in a fresh pool; the file that kills a worker on its
own is reported as unreadable and the others carry on.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import resource
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from grants.return_problems import problem
from grants.workbook_reader import Examined, examine
from grants.workbook_safety import Limits

_pools: dict[tuple[int, Limits], ProcessPoolExecutor] = {}


def _limit_memory(memory_bytes: int) -> None:
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))


def _pool(limits: Limits, workers: int) -> ProcessPoolExecutor:
    key = (workers, limits)
    if key not in _pools:
        _pools[key] = ProcessPoolExecutor(
            max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
            initializer=_limit_memory, initargs=(limits.memory_bytes,),
        )
    return _pools[key]


def _discard(limits: Limits, workers: int) -> None:
    pool = _pools.pop((workers, limits), None)
    if pool is not None:
        pool.shutdown(wait=False, cancel_futures=True)


def shutdown() -> None:
    """Stop every worker pool (at the end of a run or a test session)."""
    for key in list(_pools):
        _pools.pop(key).shutdown(wait=True, cancel_futures=True)


def examine_each(paths: Sequence[Path], limits: Limits, workers: int = 2, staging: Path | None = None
                 ) -> Iterator[Examined]:
    """`examine` every file in worker processes, yielding results in the order of `paths` as they are ready
    (`staging`: where the workers stage a copy of each file's bytes).

    When a worker dies, the file being waited for is retried alone in a fresh one-worker pool (so the culprit is
    found) and the files after it are resubmitted to a fresh pool.
    """
    pending = list(paths)
    while pending:
        pool = _pool(limits, workers)
        futures = [pool.submit(examine, path, limits, staging) for path in pending]
        pending = []
        for index, future in enumerate(futures):
            try:
                yield future.result()
            except BrokenProcessPool:
                _discard(limits, workers)
                yield _alone(paths[len(paths) - len(futures) + index], limits, staging)
                pending = list(paths[len(paths) - len(futures) + index + 1:])
                break


def _alone(path: Path, limits: Limits, staging: Path | None) -> Examined:
    try:
        return _pool(limits, 1).submit(examine, path, limits, staging).result()
    except BrokenProcessPool:
        _discard(limits, 1)
        return _crashed(path)


def _crashed(path: Path) -> Examined:
    data = path.read_bytes()
    found = Examined(hashlib.sha256(data).hexdigest(), len(data))
    found.problems = [problem("unreadable-workbook", "Reading the workbook crashed the reader or ran out of "
                              "memory; it was not opened. Please save it again as .xlsx and resend.")]
    return found
