"""A mock cloud for Vitrage's real drivers: the demo's and benchmarks' harness.

Needs the ``[demo]`` extra (Vitrage and fixtures). Not imported by any
service; ``tools/demo.py``, ``tools/bench/`` and the functional tests use
it.
"""
