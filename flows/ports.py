"""Whether a TCP port is free to listen on, asked before a server starts (`grants serve`'s Prefect server, `grants
web`): one line naming what may hold it and the option that picks another, never a silent move to another port."""

from __future__ import annotations

import errno
import socket

from grants.kernel.errors import GrantsError


def check_port_free(host: str, port: int, *, option: str, holders: str) -> int:
    """`port` if nothing listens on it at `host`; otherwise GrantsError in one line (`holders`: what may hold it;
    `option`: how to pass another). SO_REUSEADDR as the servers set it: a port just closed (TIME_WAIT) is free."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise GrantsError(f"cannot listen on {host} port {port}: {exc.strerror or exc}") from None
            raise GrantsError(f"port {port} is already in use ({holders}?): stop it or pass {option} with a free "
                              "port") from None
    return port
