"""Store layer: SQLite through sqlite-utils, on one dedicated thread, never on the event loop."""
