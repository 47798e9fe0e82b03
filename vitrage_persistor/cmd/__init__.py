"""Console scripts.

The threading backend of oslo.service is chosen here, before anything else
imports oslo.service: the project never uses eventlet.
"""

from oslo_service import backend

backend.init_backend(backend.BackendType.THREADING)
