"""The API as a WSGI module: ``vitrage_persistor.api.wsgi:application``.

Point the WSGI server at it, e.g. ``uwsgi --module
vitrage_persistor.api.wsgi:application``. The configuration comes from
``OS_VITRAGE_PERSISTOR_CONFIG_FILES`` and ``OS_VITRAGE_PERSISTOR_CONFIG_DIR``
(see :func:`vitrage_persistor.cmd.api.config_files`); a bad one stops the
import, and so the server's start, with a message that says what is wrong.
"""

from vitrage_persistor.cmd import api

application = api.init_application()
