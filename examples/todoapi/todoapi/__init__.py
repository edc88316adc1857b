"""A todo API: FastAPI routers over SQLAlchemy models on SQLite, and one Jinja page."""
