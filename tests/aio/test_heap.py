"""``keep_heap``: glibc keeps freed memory at the top of its heap instead of trimming it after
each large ``free`` (the kernel time of binary 64 KiB echoes, issue #20). Measured through
glibc's own ``mallinfo2``: the free memory left at the top of the heap after 2 MiB of 64 KiB
blocks are freed."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tether.aio.heap import keep_heap

pytestmark = pytest.mark.skipif(
    platform.libc_ver()[0] != "glibc", reason="mallopt/mallinfo2 are glibc's"
)

ROOT = Path(__file__).resolve().parents[2]

#: The free memory at the top of the heap (mallinfo2().keepcost: what a trim would give back)
#: after 32 blocks of 64 KiB were allocated and freed.
PROBE = textwrap.dedent(
    """
    import ctypes
    class Info(ctypes.Structure):
        _fields_ = [(n, ctypes.c_size_t) for n in (
            "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks",
            "uordblks", "fordblks", "keepcost")]
    def heap_after_free():
        libc = ctypes.CDLL(None)
        libc.malloc.restype = ctypes.c_void_p
        libc.free.argtypes = (ctypes.c_void_p,)
        libc.mallinfo2.restype = Info
        blocks = [libc.malloc(64 * 1024) for _ in range(32)]
        for block in reversed(blocks):
            libc.free(block)
        return libc.mallinfo2().keepcost
    """
)


def run(code: str, **env: str) -> str:
    environ = {k: v for k, v in os.environ.items() if k != "MALLOC_TRIM_THRESHOLD_"}
    environ["PYTHONPATH"] = os.pathsep.join([str(ROOT / "src"), environ.get("PYTHONPATH", "")])
    done = subprocess.run(
        [sys.executable, "-c", PROBE + textwrap.dedent(code)],
        env={**environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


def test_the_heap_keeps_freed_memory_with_a_threshold() -> None:
    trimmed = int(run("print(heap_after_free())"))
    kept = int(
        run(
            """
            from tether.aio.heap import keep_heap
            assert keep_heap(16 * 1024 * 1024)
            print(heap_after_free())
            """
        )
    )
    assert trimmed < 512 * 1024 and kept >= 1024 * 1024, (trimmed, kept)


def test_nothing_is_set_for_zero_or_when_the_environment_says() -> None:
    assert keep_heap(0) is False
    out = run(
        """
        from tether.aio.heap import keep_heap
        print(keep_heap(16 * 1024 * 1024), heap_after_free())
        """,
        MALLOC_TRIM_THRESHOLD_="131072",
    )
    done, top = out.split()
    assert done == "False"
    assert int(top) < 512 * 1024  # glibc's trimming, as the environment asked


@pytest.mark.parametrize(("threshold", "kept"), [(None, True), (128 * 1024, False)])
def test_io_run_applies_the_servers_setting(threshold: int | None, kept: bool) -> None:
    """``io.run`` sets it from ``http_limits.heap_trim_threshold`` (16 MiB by default; 128 KiB,
    glibc's default, set explicitly: trimmed). With 0 nothing is set, and what glibc does
    then depends on the process's history (it raises the threshold by itself after freeing
    a block it had mapped)."""
    limits = "None" if threshold is None else f"HttpLimits(heap_trim_threshold={threshold})"
    out = run(
        f"""
        import os, signal
        import tether
        from tether.http.messages import HttpLimits
        io = tether.Server(http_limits={limits})
        def ready(listener):
            print(heap_after_free(), flush=True)
            os.kill(os.getpid(), signal.SIGTERM)
        io.run("127.0.0.1", 0, on_ready=ready)
        """
    )
    top = int(out.splitlines()[-1])
    assert (top >= 1024 * 1024) is kept, top
