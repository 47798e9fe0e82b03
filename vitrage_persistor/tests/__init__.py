# Choose oslo.service's threading backend before any test module imports
# Vitrage or oslo.service: the first get_backend() call would otherwise fix
# the eventlet default for the whole test process, and importing
# vitrage_persistor.cmd afterwards would fail with BackendAlreadySelected.
import vitrage_persistor.cmd  # noqa: F401
