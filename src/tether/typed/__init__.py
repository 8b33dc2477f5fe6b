"""Typed events: what handlers' annotations say about the events they receive.

- :mod:`tether.typed.signature`: a handler's payload parameters and acknowledgement type,
  read once at registration.
- :mod:`tether.typed.validation`: the validator those annotations call for (pydantic, the
  extra ``tether[typed]``): arguments converted, acknowledgements serialized, error objects.
"""
