"""Hooks that publish Vitrage 15.0.1's enriched events, unmodified install.

Nothing outside this package (and ``cmd/graph.py``) imports Vitrage: the
agent, the store and the API run without it. See ``doc/source/hooks.rst``.
"""
