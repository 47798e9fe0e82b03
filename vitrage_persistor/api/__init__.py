"""The read-only REST API: events, quarantine, status and graphs."""
