"""A Django ASGI app hosted by ``tether serve tests.cli.django_app:app``: minimal settings, a
view that answers, one that emits to a Socket.IO room."""

from __future__ import annotations

import os
from typing import Any

import django
from django.conf import settings

import tether

settings.configure(
    DEBUG=False,
    SECRET_KEY="tests-only",
    ALLOWED_HOSTS=["127.0.0.1", "localhost"],
    ROOT_URLCONF=__name__,
    MIDDLEWARE=[],
    INSTALLED_APPS=[],
    DATABASES={},
)
django.setup()

from django.core.asgi import get_asgi_application  # noqa: E402
from django.http import HttpRequest, JsonResponse  # noqa: E402
from django.urls import path  # noqa: E402

io = tether.Server()


@io.on("whoami")
def whoami(socket: tether.Socket) -> int:
    return os.getpid()


@io.on("join")
def join(socket: tether.Socket, room: str) -> str:
    socket.join(room)
    return "joined"


@io.on("echo")
def echo(socket: tether.Socket, *args: Any) -> list[Any]:
    return list(args)


async def hello(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"framework": "django", "path": request.path, "q": request.GET.get("q")})


async def emit(request: HttpRequest, room: str) -> JsonResponse:
    io.to(room).emit("news", request.body.decode(), os.getpid())
    return JsonResponse({"pid": os.getpid()})


urlpatterns = [path("hello", hello), path("rooms/<str:room>/emit", emit)]

app = tether.ASGIApp(io, other_asgi_app=get_asgi_application())
