"""The benchmark contract on the native tether server, its ``echo`` a typed handler.

The server is the bare contract's (``tether_contract.io``); its ``echo`` takes a small
pydantic model and returns it (validated from the payload, serialized back into the ack:
``tether.typed.validation``), so ``--servers tether,tether-typed --scenarios echo-typed``
measures what a typed handler costs per event. Needs the ``typed`` extra (pydantic).
"""

from __future__ import annotations

import os

from pydantic import BaseModel

import tether
from bench.servers.tether_contract import io


class EchoMessage(BaseModel):
    n: int
    text: str


@io.on("echo")
def echo(socket: tether.Socket, msg: EchoMessage) -> EchoMessage:
    return msg


assert io.sockets.handlers["echo"].validator is not None, "pydantic is missing (tether[typed])"

if __name__ == "__main__":
    io.run(
        "127.0.0.1",
        int(os.environ.get("PORT", "3000")),
        on_ready=lambda _: print("READY", flush=True),
    )
