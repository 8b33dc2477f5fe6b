"""A Flask-SocketIO chat moved to tether (see README.md in this folder for what changed).

Flask keeps serving the pages and the HTTP API; tether serves Socket.IO; both on one port, in
one process, under uvicorn (Flask through a2wsgi):

    pip install tether flask a2wsgi uvicorn
    python app.py            # http://127.0.0.1:5000, under uvicorn
    tether serve app:asgi    # or on tether's native server, Flask hosted beside it
"""

from __future__ import annotations

import os
from typing import Any

from a2wsgi import WSGIMiddleware
from flask import Flask, render_template, request

import tether

app = Flask(__name__)
io = tether.Server()


@app.route("/")
def index() -> str:
    return render_template("index.html")


@app.post("/announce")
def announce() -> dict[str, Any]:
    # A Flask view (a2wsgi runs it in a worker thread) emits: tether hands it to its loop.
    data = request.get_json()
    room = data.get("room")
    (io.to(room) if room else io).emit("announcement", data["text"])
    return {"sent": True}


@io.on("connection")
def connected(socket: tether.Socket) -> None:
    socket.emit("status", {"msg": f"welcome, {socket.id}"})  # was: emit(...) + request.sid


@io.on("join")
def on_join(socket: tether.Socket, data: dict[str, str]) -> str:
    socket.data.update(name=data["name"], room=data["room"])  # was: Flask's session
    socket.join(data["room"])  # was: join_room(room)
    io.to(data["room"]).emit("status", {"msg": f"{data['name']} has entered {data['room']}"})
    return data["room"]


@io.on("text")
def on_text(socket: tether.Socket, data: dict[str, str]) -> None:
    room = socket.data["room"]
    io.to(room).emit("message", {"name": socket.data["name"], "msg": data["msg"]})


@io.on("leave")
def on_leave(socket: tether.Socket) -> None:
    room = socket.data.pop("room", None)
    if room:
        socket.leave(room)  # was: leave_room(room)
        io.to(room).emit("status", {"msg": f"{socket.data['name']} has left {room}"})


#: What uvicorn serves (was: socketio.run(app)).
asgi = tether.ASGIApp(io, other_asgi_app=WSGIMiddleware(app))

if __name__ == "__main__":
    import uvicorn

    uvicorn.run(asgi, host="127.0.0.1", port=int(os.environ.get("PORT", "5000")))
