"""The logging of the ``tether`` command: ``--log-level`` and ``--log-format text|json``.

``json`` writes one JSON object a line on stderr: ``time`` (ISO 8601, UTC), ``level``,
``logger``, ``message``, and ``exception`` (the traceback) when there is one; for log
collectors (Loki, Elasticsearch, CloudWatch...). Worker processes (``--workers``) log the
same way: the format reaches them through :data:`ENV_FORMAT`.
"""

from __future__ import annotations

import json
import logging
import os
from datetime import UTC, datetime

#: The environment variable that carries ``--log-format`` to worker processes.
ENV_FORMAT = "TETHER_LOG_FORMAT"
FORMATS = ("text", "json")
TEXT = "%(levelname)s %(name)s: %(message)s"


class JsonFormatter(logging.Formatter):
    """One JSON object per record."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure(level: str, fmt: str | None = None) -> None:
    """Log at ``level`` in ``fmt`` (default: :data:`ENV_FORMAT`, else ``text``)."""
    fmt = fmt or os.environ.get(ENV_FORMAT) or "text"
    if fmt not in FORMATS:
        raise SystemExit(f"tether: unknown log format {fmt!r} (text or json)")
    os.environ[ENV_FORMAT] = fmt
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT))
    logging.basicConfig(level=level.upper(), handlers=[handler])
