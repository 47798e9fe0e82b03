"""The persistor agent: a batch listener that stores enriched events."""
