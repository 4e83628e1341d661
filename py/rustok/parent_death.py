"""A uvicorn worker ends with the `rustok serve` that started it.

uvicorn's workers are child processes; when their parent is killed with SIGKILL nothing tells them, and they
keep answering on the port with no supervisor, no background work and no parent to restart them, while a new
serve finds the port taken. On Linux the kernel can send a signal on the parent's death (prctl
PR_SET_PDEATHSIG); elsewhere nothing is set and the old behaviour stays."""

from __future__ import annotations

import ctypes
import ctypes.util
import multiprocessing
import os
import signal
import sys

PR_SET_PDEATHSIG = 1


def end_with_parent() -> bool:
    """In a worker process (a multiprocessing child, as uvicorn's are): ask for SIGTERM (uvicorn's graceful
    shutdown) when the parent dies, and end now if it already has. In the serving process itself (one worker:
    uvicorn runs in serve) nothing is set: serve must outlive the shell that started it. Returns whether set."""
    parent = multiprocessing.parent_process()
    if parent is None or not sys.platform.startswith("linux"):
        return False
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    if libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
        return False
    if os.getppid() != parent.pid:  # the parent died before the request: nobody will send the signal
        os.kill(os.getpid(), signal.SIGTERM)
    return True
