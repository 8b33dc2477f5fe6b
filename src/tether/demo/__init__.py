"""The demo applications (``tether demo``): a chat in the browser."""

from tether.demo.chat import ChatState, create_app

__all__ = ["ChatState", "create_app"]
