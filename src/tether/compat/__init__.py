"""Compatibility layers: other libraries' APIs on tether's server and client.

:mod:`tether.compat.socketio` is python-socketio 5.x's asyncio API.
"""
