"""HTTP without I/O: request and response messages, the exchange protocols the Engine.IO
layer is served through (native or ASGI), CORS and compression."""
