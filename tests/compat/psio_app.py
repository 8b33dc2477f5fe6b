"""A python-socketio 5.x application (asyncio, ASGI), written against python-socketio's API
only. The tests run it as it is, on python-socketio (the reference), and with its import
line changed to ``from tether.compat import socketio``: nothing else differs.
"""

import socketio

sio = socketio.AsyncServer(async_mode="asgi", cors_allowed_origins="*")
app = socketio.ASGIApp(sio)

#: What the server saw: disconnect reasons, callback answers (read by the `report` event).
REPORT: dict = {"disconnects": [], "callbacks": []}


class Chat(socketio.AsyncNamespace):
    async def on_connect(self, sid, environ, auth):
        if not auth or auth.get("token") != "secret":
            raise socketio.exceptions.ConnectionRefusedError("bad token", {"hint": "secret"})
        await self.save_session(sid, {"name": auth.get("name", "anon")})
        await self.enter_room(sid, "lobby")
        await self.emit("welcome", {"room": "lobby"}, to=sid)

    async def on_join(self, sid, room):
        await self.enter_room(sid, room)
        return sorted(r for r in self.rooms(sid) if r != sid)

    async def on_leave(self, sid, room):
        await self.leave_room(sid, room)
        return sorted(r for r in self.rooms(sid) if r != sid)

    async def on_say(self, sid, room, text):
        session = await self.get_session(sid)
        await self.emit("said", {"from": session["name"], "text": text}, room=room, skip_sid=sid)
        return "sent"

    async def on_rename(self, sid, name):
        async with self.session(sid) as session:
            session["name"] = name
        return name

    async def on_ask(self, sid, question):
        # the server asks the client back and answers with the client's answer
        answer = await self.call("question", question, to=sid, timeout=5)
        return {"answer": answer}

    async def on_close(self, sid, room):
        await self.close_room(room)
        return "closed"

    async def on_disconnect(self, sid, reason):
        REPORT["disconnects"].append(["/chat", reason])


sio.register_namespace(Chat("/chat"))


@sio.event
async def connect(sid, environ, auth=None):
    if environ.get("HTTP_X_REFUSE"):
        return False
    await sio.save_session(sid, {"user_agent_seen": "HTTP_USER_AGENT" in environ})


@sio.event
async def disconnect(sid, reason):
    REPORT["disconnects"].append(["/", reason])


@sio.event
def add(sid, a, b):
    return a + b


@sio.event
async def pair(sid):
    return "one", 2


@sio.on("*")
async def any_event(event, sid, *args):
    return ["caught", event, *args]


@sio.event
async def ticks(sid, count):
    async def tick():
        for i in range(count):
            await sio.sleep(0.01)
            await sio.emit("tick", i, to=sid)

    sio.start_background_task(tick)
    return "started"


@sio.event
async def ack_me(sid, data):
    async def done(*args):
        REPORT["callbacks"].append(list(args))
        await sio.emit("acked", list(args), to=sid)

    await sio.emit("please_ack", data, to=sid, callback=done)


@sio.event
async def broadcast(sid, data):
    await sio.emit("news", data)


@sio.event
async def session(sid):
    return await sio.get_session(sid)


@sio.event
async def kick(sid):
    await sio.disconnect(sid)


@sio.event
async def report(sid):
    return REPORT
