"""Fixtures shared by the test folders (plain helpers are in tests/support.py)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator

import pytest

from tests.support import RedisServer


@pytest.fixture(scope="session")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """A self-signed certificate for 127.0.0.1, valid one day: the paths of its PEM
    certificate and key."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = str(folder / "cert.pem"), str(folder / "key.pem")
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"),
            *("-keyout", key, "-out", cert),
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    """A ``redis-server`` of the module's own (tests/adapters, and ``--workers`` in tests/cli)."""
    server = RedisServer()
    server.start()
    yield server
    server.kill()
