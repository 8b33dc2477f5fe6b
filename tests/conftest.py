"""Fixtures shared by the test folders (plain helpers are in tests/support.py)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.adapters.support import RedisServer


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    """A ``redis-server`` of the module's own (tests/adapters, and ``--workers`` in tests/cli)."""
    server = RedisServer()
    server.start()
    yield server
    server.kill()
