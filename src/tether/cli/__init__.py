"""The ``tether`` command: ``serve`` (:mod:`.main`, with ``--workers``: :mod:`.workers`),
``demo``, the ``client`` and ``emit`` consoles (:mod:`.console`), and the browser bundle's
installer (:mod:`.bundle`)."""
