"""The chat of one worker of ``tether demo chat --workers N`` (``tether.demo.worker:io``),
configured by the parent through the environment (:func:`tether.demo.chat.app_from_env`)."""

from tether.demo.chat import app_from_env

io = app_from_env()
