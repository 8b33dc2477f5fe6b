"""The ClusterAdapter protocol of ``socket.io-adapter`` (:mod:`.adapter`), its wire codec
(:mod:`.wire`) and its relay between ``--workers`` (:mod:`.hub`)."""
