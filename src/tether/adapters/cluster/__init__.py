"""The ClusterAdapter protocol of ``socket.io-adapter`` (:mod:`.adapter`), its wire codec
(:mod:`.wire`, :mod:`.notepack`) and its relay between ``--workers`` (:mod:`.hub`)."""
