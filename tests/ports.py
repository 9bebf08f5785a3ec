"""A free TCP port on 127.0.0.1, chosen by the OS (for servers the tests start: SMTP, webhooks, the web app)."""

from __future__ import annotations

import socket


def free_port() -> int:
    """A port no one listens on now (the OS picks it; bind it soon, as another process may take it later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
