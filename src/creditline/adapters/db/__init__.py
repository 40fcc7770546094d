"""Storage on SQLAlchemy Core: SQLite (embedded default) and PostgreSQL (psycopg 3)."""
