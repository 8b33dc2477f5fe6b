"""How the ASGI app tells it runs in one of several worker processes (to warn when polling
clients need the cluster engine)."""

from __future__ import annotations

import pytest

from tether.aio.asgi import worker_processes


@pytest.mark.parametrize(
    ("cmdline", "expected"),
    [
        (["python", "-m", "uvicorn", "app:app", "--workers", "4"], 4),
        (["/venv/bin/uvicorn", "app:app", "--workers=2"], 2),
        (["gunicorn", "-w", "3", "-k", "uvicorn.workers.UvicornWorker", "app:app"], 3),
        (["python", "-m", "uvicorn", "app:app", "--reload"], 1),  # one worker, reloaded
        (["bash", "-w", "9"], 1),  # not an ASGI server
        ([], 1),
    ],
)
def test_worker_processes_from_the_parents_command_line(
    cmdline: list[str], expected: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("WEB_CONCURRENCY", raising=False)
    assert worker_processes(cmdline) == expected


def test_web_concurrency_counts_when_the_command_line_says_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("WEB_CONCURRENCY", "5")
    assert worker_processes(["uvicorn", "app:app"]) == 5
    assert worker_processes(["uvicorn", "app:app", "--workers", "2"]) == 2
