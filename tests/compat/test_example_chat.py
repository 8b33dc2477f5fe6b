"""examples/flask_socketio_chat: the Flask-SocketIO chat moved to tether, run as its README
says (``python app.py``: uvicorn; ``tether serve app:asgi``: the native server hosting Flask),
driven by two clients and an HTTP announcement."""

from __future__ import annotations

import asyncio
import json
import sys
import urllib.request
from typing import Any

import pytest

from tests.support import ENV, ROOT, free_port, until
from tether import Client

EXAMPLE = ROOT / "examples" / "flask_socketio_chat"


def _get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=2) as response:
        return str(response.read().decode())


def _post(url: str, data: Any) -> Any:
    body = json.dumps(data).encode()
    request = urllib.request.Request(url, body, {"content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.load(response)


@pytest.mark.parametrize("how", ["python app.py", "tether serve app:asgi"])
async def test_the_example_runs(how: str) -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [sys.executable, "app.py"]  # the port from PORT
    if how != "python app.py":
        serve = ["serve", "app:asgi", "--host", "127.0.0.1", "--port", str(port)]
        command = [sys.executable, "-m", "tether", *serve]
    proc = await asyncio.create_subprocess_exec(
        *command,
        cwd=EXAMPLE,
        env={**ENV, "PORT": str(port)},
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        page = ""

        async def up() -> bool:
            nonlocal page
            try:
                page = await asyncio.to_thread(_get, base + "/")
            except OSError:
                return False
            return True

        deadline = asyncio.get_running_loop().time() + 20
        while not await up():
            assert proc.returncode is None, "the example exited"
            assert asyncio.get_running_loop().time() < deadline, "the example did not start"
            await asyncio.sleep(0.1)
        assert '<script src="/socket.io/socket.io.js">' in page
        assert "io(" in await asyncio.to_thread(_get, base + "/socket.io/socket.io.js")

        got: dict[str, list[Any]] = {"ann": [], "bob": []}
        clients = {}
        for name in got:
            client = Client(reconnection=False)
            client.on_any(lambda event, *args, name=name: got[name].append([event, *args]))
            await client.connect(base)
            clients[name] = client
        await until(lambda: all(got.values()), "the welcomes")
        assert got["ann"][0][:1] == ["status"] and "welcome" in got["ann"][0][1]["msg"]
        assert await clients["ann"].emit_with_ack("join", {"name": "ann", "room": "r"}) == "r"
        assert await clients["bob"].emit_with_ack("join", {"name": "bob", "room": "r"}) == "r"
        clients["ann"].emit("text", {"msg": "hello"})
        message = ["message", {"name": "ann", "msg": "hello"}]
        await until(lambda: message in got["bob"] and message in got["ann"], "the message")
        assert await asyncio.to_thread(_post, base + "/announce", {"text": "hi", "room": "r"}) == {
            "sent": True
        }
        await until(lambda: ["announcement", "hi"] in got["bob"], "the announcement")
        clients["bob"].emit("leave")
        left = ["status", {"msg": "bob has left r"}]
        await until(lambda: left in got["ann"], "bob leaving")
        for client in clients.values():
            await client.disconnect()
    finally:
        proc.terminate()
        await proc.wait()
