"""The C heap of a process the native server runs in.

glibc's ``free`` gives the top of the heap back to the kernel as soon as more than
``M_TRIM_THRESHOLD`` (128 KiB by default) is free there, and the next allocation takes it
back with ``brk`` and a page fault per 4 KiB page. A server that receives and sends
messages of tens of KiB allocates and frees buffers of that size for each one, so the heap
shrinks and regrows around every message: measured on binary 64 KiB echoes, 140 µs of
kernel time per ack instead of 30 (bench/results/20261207-metrics-cost/README.md and
issue #20's note). A higher threshold keeps that much freed memory in the process.
"""

from __future__ import annotations

import ctypes
import logging
import os
import sys

__all__ = ["keep_heap"]

log = logging.getLogger("tether.heap")

#: mallopt's parameter number for the trim threshold (glibc's malloc.h).
M_TRIM_THRESHOLD = -1
#: The environment variable by which glibc reads the same setting at start: set, it wins.
ENV = "MALLOC_TRIM_THRESHOLD_"


def keep_heap(threshold: int) -> bool:
    """Let glibc keep up to ``threshold`` bytes of freed memory at the top of its heap
    instead of giving it back to the kernel after each large ``free``. Does nothing (and
    returns False) when ``threshold`` is 0, when ``MALLOC_TRIM_THRESHOLD_`` is set in the
    environment (the operator's choice), or when the C library has no ``mallopt`` (not
    glibc, not Linux). Returns True when the threshold was set."""
    if threshold <= 0 or ENV in os.environ or not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    done = bool(mallopt(M_TRIM_THRESHOLD, min(threshold, 2**31 - 1)))
    log.debug("heap trim threshold %d bytes: %s", threshold, "set" if done else "refused")
    return done
