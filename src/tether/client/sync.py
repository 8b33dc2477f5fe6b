"""A blocking Socket.IO client: the asyncio :class:`~tether.client.core.Client` on a thread.

::

    with tether.client.SyncClient() as client:
        client.on("news", print)          # handlers run on the client's thread
        client.connect("http://127.0.0.1:3000")
        print(client.emit_with_ack("echo", 1, timeout=5))

Every call is handed to the client's event loop and waits for its result; from inside a
handler (on the loop's thread) ``emit`` runs directly and the other blocking calls raise
``RuntimeError`` instead of deadlocking.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar, overload

from tether.client.core import Client
from tether.client.state import H, Handler

T = TypeVar("T")
R = TypeVar("R")


class SyncClient:
    """The blocking client; the keyword options are :class:`Client`'s."""

    def __init__(self, **options: Any) -> None:
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name="tether-client", daemon=True)
        self._thread.start()

        async def make() -> Client:
            return Client(**options)

        self._client = self._call(make())

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._loop.run_forever()

    def _call(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        if threading.current_thread() is self._thread:
            coro.close()
            raise RuntimeError("blocking SyncClient call from one of its own handlers")
        if self._loop.is_closed():
            coro.close()
            raise RuntimeError("the SyncClient is closed")
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    @property
    def client(self) -> Client:
        """The asyncio client underneath (use it from its own thread only)."""
        return self._client

    @overload
    def on(self, event: str, handler: None = None, *, namespace: str = "/") -> Callable[[H], H]: ...
    @overload
    def on(self, event: str, handler: H, *, namespace: str = "/") -> H: ...

    def on(
        self, event: str, handler: Handler | None = None, *, namespace: str = "/"
    ) -> Callable[[Handler], Handler] | Handler:
        """As :meth:`Client.on`; handlers run on the client's thread."""
        if handler is None:
            return self._client.on(event, namespace=namespace)
        return self._client.on(event, handler, namespace=namespace)

    @overload
    def on_any(self, handler: None = None, *, namespace: str = "/") -> Callable[[H], H]: ...
    @overload
    def on_any(self, handler: H, *, namespace: str = "/") -> H: ...

    def on_any(
        self, handler: Handler | None = None, *, namespace: str = "/"
    ) -> Callable[[Handler], Handler] | Handler:
        """As :meth:`Client.on_any`."""
        if handler is None:
            return self._client.on_any(namespace=namespace)
        return self._client.on_any(handler, namespace=namespace)

    def connect(self, url: str, **options: Any) -> None:
        """As :meth:`Client.connect` (same keyword arguments), blocking."""
        self._call(self._client.connect(url, **options))

    def emit(self, event: str, *args: Any, namespace: str = "/", volatile: bool = False) -> None:
        """As :meth:`Client.emit`."""
        if threading.current_thread() is self._thread:
            self._client.emit(event, *args, namespace=namespace, volatile=volatile)
            return

        async def emit() -> None:
            self._client.emit(event, *args, namespace=namespace, volatile=volatile)

        self._call(emit())

    @overload
    def emit_with_ack(
        self,
        event: str,
        *args: Any,
        namespace: str = "/",
        timeout: float | None = None,
        result: None = None,
    ) -> Any: ...
    @overload
    def emit_with_ack(
        self,
        event: str,
        *args: Any,
        namespace: str = "/",
        timeout: float | None = None,
        result: type[R],
    ) -> R: ...

    def emit_with_ack(
        self,
        event: str,
        *args: Any,
        namespace: str = "/",
        timeout: float | None = None,
        result: Any = None,
    ) -> Any:
        """As :meth:`Client.emit_with_ack`, blocking."""
        return self._call(
            self._client.emit_with_ack(
                event, *args, namespace=namespace, timeout=timeout, result=result
            )
        )

    def disconnect(self) -> None:
        """As :meth:`Client.disconnect`, blocking."""
        self._call(self._client.disconnect())

    def wait(self, timeout: float | None = None) -> bool:
        """Block until disconnected for good; False if ``timeout`` passed first."""
        try:
            self._call(_wait_for(self._client.wait(), timeout))
        except TimeoutError:
            return False
        return True

    @property
    def connected(self) -> bool:
        return self._client.connected

    @property
    def sid(self) -> str | None:
        return self._client.sid

    def get_sid(self, namespace: str = "/") -> str | None:
        return self._client.get_sid(namespace)

    @property
    def transport(self) -> str | None:
        return self._client.transport

    @property
    def recovered(self) -> bool:
        return self._client.recovered

    def close(self) -> None:
        """Disconnect, stop the thread and close its loop."""
        if self._loop.is_closed():
            return
        self._call(self._client.disconnect())
        self._call(_cancel_all())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()

    def __enter__(self) -> SyncClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


async def _wait_for(awaitable: Awaitable[None], timeout: float | None) -> None:
    async with asyncio.timeout(timeout):
        await awaitable


async def _cancel_all() -> None:
    current = asyncio.current_task()
    tasks = [task for task in asyncio.all_tasks() if task is not current]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
