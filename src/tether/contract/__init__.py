"""The contract of a :class:`tether.Server`, handed to clients.

- :mod:`tether.contract.model`: the events of each namespace, both ways, with their types
  (read from the handlers' annotations and from ``io.declare``).
- :mod:`tether.contract.schema`: the JSON Schema of those types (needs pydantic: the
  ``typed`` extra).
- :mod:`tether.contract.typescript`: socket.io-client's typed-event interfaces
  (``tether typegen``).
- :mod:`tether.contract.asyncapi`: an AsyncAPI 3.0 document (``tether asyncapi``).
"""

from tether.contract.model import Contract, Event, NamespaceContract, contract_of

__all__ = ["Contract", "Event", "NamespaceContract", "contract_of"]
