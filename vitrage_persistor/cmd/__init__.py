"""Console scripts.

The threading backend of oslo.service is chosen here, before anything else
imports oslo.service: the project never uses eventlet.
"""

from vitrage_persistor import oslo_backend

oslo_backend.use_threading()
