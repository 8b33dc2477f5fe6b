"""Redis adapters, wire-compatible with Node's: the classic pub/sub adapter (this package's
:func:`create_adapter`, ``@socket.io/redis-adapter``), :mod:`.sharded` (sharded pub/sub),
:mod:`.streams` (``@socket.io/redis-streams-adapter``) and :mod:`.emitter`
(``@socket.io/redis-emitter``), over one :class:`~.link.RedisLink` per server."""

from tether.adapters.redis.classic import RedisAdapter, RedisAdapterFactory, create_adapter
from tether.adapters.redis.engine import RedisEngine, create_engine

__all__ = ["RedisAdapter", "RedisAdapterFactory", "RedisEngine", "create_adapter", "create_engine"]
