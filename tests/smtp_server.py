"""A real SMTP server on this machine for tests (aiosmtpd), that refuses some recipients for
good (550) and others for a while (451), and keeps what it delivered."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from aiosmtpd.controller import Controller


@dataclass
class Handler:
    refused: set[str] = field(default_factory=set)  # 550: never
    busy: dict[str, int] = field(default_factory=dict)  # 451 this many times, then accepted
    delivered: list[tuple[str, str]] = field(default_factory=list)  # (recipient, message)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refused:
            return "550 5.1.1 No such user here"
        if self.busy.get(address, 0) > 0:
            self.busy[address] -= 1
            return "451 4.3.2 Too busy, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        text = envelope.content.decode("utf-8", "replace")
        self.delivered.extend((to, text) for to in envelope.rcpt_tos)
        return "250 Message accepted for delivery"

    @property
    def recipients(self) -> list[str]:
        return [to for to, _ in self.delivered]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def smtp_server(settings, handler: Handler | None = None) -> Iterator[Handler]:
    """Start the server and point Django's SMTP email backend at it."""
    handler = handler or Handler()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", controller.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_HOST_USER = settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_TIMEOUT = 5
    try:
        yield handler
    finally:
        controller.stop()
