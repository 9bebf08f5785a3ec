"""The sandbox's worker process: examines untrusted files one at a time for grants/workbook_sandbox.py.

A fresh interpreter that imports only the reader, so it starts in a fraction of a second (a multiprocessing worker
first re-imports the parent's main module: the whole CLI, a flow run or a benchmark, seconds each). Over its pipes,
pickled: in, the parent's sys.path (read by the bootstrap, `BOOT`), its address-space limit, then one request
(path, limits, staging folder) at a time until its input closes; out, `READY` once the limit is set, then one
Examined per request, in order. Anything a library prints goes to stderr, never into the replies.

A reply is at most `MAX_REPLY_BYTES` pickled: a file whose values would take more (sheets filled far beyond a return,
yet within the row and column limits) is answered with its hash and a `sheet-too-large` problem instead, so the
parent never holds more than that per file (it treats a longer reply as a dead worker).
"""

from __future__ import annotations

import os
import pickle
import resource
import sys
from typing import BinaryIO

from grants.returns.problems import problem
from grants.returns.reader import Examined, examine

BOOT = "import pickle, sys; sys.path[:] = pickle.load(sys.stdin.buffer); import grants.returns.worker as w; w.main()"
READY = "ready"
MAX_REPLY_BYTES = 2 * 1024 * 1024  # an honest return's reply is 2-4 KB


def main() -> None:
    """Serve requests from stdin until it closes (the parent is done or gone)."""
    replies = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # stray prints now go to stderr
    requests = sys.stdin.buffer
    memory_bytes = pickle.load(requests)
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    _reply(replies, READY)
    while True:
        try:
            path, limits, staging = pickle.load(requests)
        except EOFError:
            return
        _reply(replies, examine(path, limits, staging))


def _reply(replies: BinaryIO, value: object) -> None:
    data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    if len(data) > MAX_REPLY_BYTES and isinstance(value, Examined):
        data = pickle.dumps(_too_much(value, len(data)), protocol=pickle.HIGHEST_PROTOCOL)
    replies.write(data)
    replies.flush()


def _too_much(found: Examined, size: int) -> Examined:
    """The reply for a file whose values are too many to send: its hash, size and staged copy, and the problem."""
    slim = Examined(found.sha256, found.size, staged=found.staged)
    slim.problems = [problem("sheet-too-large", f"The workbook's sheets hold far more values than a return needs "
                             f"({size:,} bytes once read); it was not checked. Delete the rows and columns you added "
                             "and send it again.")]
    return slim
