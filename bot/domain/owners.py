"""Who holds a job's lease: `host:pid:nonce`. A process that starts on the same host can tell
that a holder is gone (its pid runs no more) and take its jobs at once, instead of leaving
the person waiting for the lease to run out."""

from __future__ import annotations

import os
import socket
import uuid

from bot.domain.numbers import whole_number


def new_owner_id() -> str:
    """This process's id as a lease holder; the nonce tells apart workers of one process."""
    return f"{host_prefix()}{os.getpid()}:{uuid.uuid4().hex[:6]}"


def host_prefix() -> str:
    return f"{socket.gethostname()}:"


def is_gone(owner: str) -> bool:
    """True when `owner` was a process of this host that no longer runs. Anything else (another
    host, this process, a live pid, an id in another form) is left to its lease."""
    if not owner.startswith(host_prefix()):
        return False
    pid = whole_number(owner.removeprefix(host_prefix()).partition(":")[0])
    if pid is None or pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # it exists, under another user
    return False
