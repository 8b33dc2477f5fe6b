"""The ClusterAdapter protocol of ``socket.io-adapter`` (:mod:`.adapter`), its wire codec
(:mod:`.wire`) and its relay between ``--workers`` (:mod:`.hub`)."""

from tether.adapters.cluster.adapter import ClusterAdapter, MessageType

__all__ = ["ClusterAdapter", "MessageType"]
