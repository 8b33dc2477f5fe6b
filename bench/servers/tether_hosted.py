"""The benchmark contract with a FastAPI app beside it, run by ``tether serve``.

``app = tether.ASGIApp(io, other_asgi_app=api)``: ``io`` is the native contract's
(``tether_contract.io``), ``api`` the HTTP scenario's FastAPI app. The driver runs
``python -m tether serve bench.servers.tether_hosted:app`` (see ``bench/run.py``), so the
native server hosts the FastAPI app and Socket.IO stays on the native path, as for a user.
"""

from __future__ import annotations

import tether
from bench.servers.fastapi_app import api
from bench.servers.tether_contract import io

app = tether.ASGIApp(io, other_asgi_app=api)
