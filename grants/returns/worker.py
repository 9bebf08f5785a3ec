"""The sandbox's worker process: examines untrusted files one at a time for grants/workbook_sandbox.py.

A fresh interpreter that imports only the reader, so it starts in a fraction of a second (a multiprocessing worker
first re-imports the parent's main module: the whole CLI, a flow run or a benchmark, seconds each). Over its pipes,
pickled: in, the parent's sys.path (read by the bootstrap, `BOOT`), its address-space limit, then one request
(path, limits, staging folder) at a time until its input closes; out, `READY` once the limit is set, then one
Examined per request, in order. Anything a library prints goes to stderr, never into the replies.
"""

from __future__ import annotations

import os
import pickle
import resource
import sys
from typing import BinaryIO

from grants.returns.reader import examine

BOOT = "import pickle, sys; sys.path[:] = pickle.load(sys.stdin.buffer); import grants.returns.worker as w; w.main()"
READY = "ready"


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
    pickle.dump(value, replies, protocol=pickle.HIGHEST_PROTOCOL)
    replies.flush()
