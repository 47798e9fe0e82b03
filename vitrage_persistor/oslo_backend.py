"""Choose oslo.service's threading backend: the project never uses eventlet.

:func:`use_threading` must run before anything imports oslo.service's
components (oslo.messaging, Vitrage): the first ``get_backend()`` call
would otherwise fix the eventlet default for the whole process. The
console scripts call it from ``vitrage_persistor.cmd``; the test suite,
the demo and the benchmarks call it themselves, first.
"""

import warnings


def use_threading() -> None:
    """Select the threading backend; a no-op if it is already selected."""
    # Vitrage (an optional extra) installs eventlet; futurist then imports
    # it and warns on every command. We never use it.
    warnings.filterwarnings('ignore', message=r'\s*Eventlet is deprecated')
    from oslo_service import backend

    backend.init_backend(backend.BackendType.THREADING)
