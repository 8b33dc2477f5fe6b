"""The benchmark contract on the native tether server with :mod:`tether.metrics` on.

The handlers and the server are the bare contract's (``tether_contract.io``); the only
difference is ``tether.metrics.enable(io)`` (metrics at ``/metrics`` of the same port), so
``--servers tether,tether-metrics`` measures what counting costs.
"""

from __future__ import annotations

import os

import tether.metrics
from bench.servers.tether_contract import io

tether.metrics.enable(io)

if __name__ == "__main__":
    io.run(
        "127.0.0.1",
        int(os.environ.get("PORT", "3000")),
        on_ready=lambda _: print("READY", flush=True),
    )
