"""The SQLite database: one connection per request in `g`, the schema created on a first start."""

import os
import sqlite3
from datetime import datetime

import click
from flask import current_app, g


def get_db():
    """Connect to the application's configured database. The connection is unique for each
    request and will be reused if this is called again."""
    if "db" not in g:
        g.db = sqlite3.connect(current_app.config["DATABASE"], detect_types=sqlite3.PARSE_DECLTYPES)
        g.db.row_factory = sqlite3.Row

    return g.db


def close_db(e=None):
    """If this request connected to the database, close the connection."""
    db = g.pop("db", None)

    if db is not None:
        db.close()


def init_db():
    """Clear existing data and create new tables."""
    db = get_db()

    with current_app.open_resource("schema.sql") as f:
        db.executescript(f.read().decode("utf8"))


@click.command("init-db")
def init_db_command():
    """Clear existing data and create new tables."""
    init_db()
    click.echo("Initialized the database.")


sqlite3.register_converter("timestamp", lambda v: datetime.fromisoformat(v.decode()))


def init_app(app):
    """Register database functions with the Flask app, and create the schema on a first start."""
    app.teardown_appcontext(close_db)
    app.cli.add_command(init_db_command)
    if not os.path.exists(app.config["DATABASE"]):
        with app.app_context():
            init_db()
