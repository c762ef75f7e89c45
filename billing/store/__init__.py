"""The schedule store: SQLModel tables, engine setup, and the queries the engine needs."""
