"""Console scripts.

The threading backend of oslo.service is chosen here, before anything else
imports oslo.service: the project never uses eventlet.
"""

import warnings

# Vitrage (an optional extra) installs eventlet; futurist then imports it and
# warns on every command. We never use it.
warnings.filterwarnings('ignore', message=r'\s*Eventlet is deprecated')

from oslo_service import backend  # noqa: E402

backend.init_backend(backend.BackendType.THREADING)
