"""SQL storage: models, the enginefacade-based store, and migrations."""
