"""Storage: SQLAlchemy 2 Core tables, exact Decimal/UTC column types, engines and migrations."""
