"""Hooks that publish Vitrage 15.0.1's enriched events, unmodified install.

:func:`install.install` patches Vitrage's classes for the hook points in
``[persistor_hooks] hooks``: :mod:`collector` (what reaches the processor)
and :mod:`driver` (what the drivers enrich); :mod:`registry` lets both run
without publishing an event twice. Only this package (and
``cmd/graph.py``) imports Vitrage on the publishing side. See
``doc/source/hooks.rst``.
"""
