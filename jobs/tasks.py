"""django-q2 entry points run by the backup proxies."""

import os
import socket

from django.utils import timezone


def proxy_ping(token: str) -> dict:
    """Answer from whichever proxy picked the task up: used to check that a proxy runs tasks end to end."""
    return {"token": token, "host": socket.gethostname(), "pid": os.getpid(), "at": timezone.now().isoformat()}
