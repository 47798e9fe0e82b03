from vitrage_persistor import oslo_backend

# Before any test module imports Vitrage or oslo.messaging (which import
# oslo.service): the first get_backend() call would otherwise fix the
# eventlet default for the whole test process.
oslo_backend.use_threading()
