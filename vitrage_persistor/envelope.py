"""Deprecated alias of :mod:`vitrage_persistor.wire`.

The wire format moved to ``wire.py``, which builds and reads it. This
name stays for code outside the tree that imported it; new code imports
:mod:`vitrage_persistor.wire`.
"""

from vitrage_persistor.wire import (  # noqa: F401
    BUNDLE_KEY,
    ENVELOPE_KEY,
    ENVELOPE_VERSION,
    EVENT_TYPE_PREFIX,
    LIVE_IDS_KEY,
    PRIORITY,
    TIMESTAMP_FORMAT,
    bundle_items,
    event_type,
    format_timestamp,
    split_live_ids,
    unwrap,
    wrap,
    wrap_bundle,
    wrap_item,
)
