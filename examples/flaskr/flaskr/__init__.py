"""Flaskr, the Flask tutorial's blog: an app factory that wires the database and the blueprints."""

import os

from flask import Flask, g


def create_app(test_config=None):
    """Create and configure an instance of the Flask application."""
    app = Flask(__name__, instance_relative_config=True)
    app.config.from_mapping(
        # a default secret that should be overridden by instance config
        SECRET_KEY="dev",
        # the database; the environment variable gives each server of the tests its own file
        DATABASE=os.environ.get("FLASKR_DATABASE")
        or os.path.join(app.instance_path, "flaskr.sqlite"),
        SITE_NAME="Flaskr",
        POSTS_PER_PAGE=50,
    )

    if test_config is None:
        # load the instance config, if it exists, when not testing
        app.config.from_pyfile("config.py", silent=True)
    else:
        # load the test config if passed in
        app.config.update(test_config)

    # ensure the instance folder exists
    os.makedirs(app.instance_path, exist_ok=True)

    @app.before_request
    def load_site():
        g.site_name = app.config["SITE_NAME"]

    @app.route("/hello")
    def hello():
        return "Hello, World!"

    # register the database commands, and create the schema on a first start
    from . import db

    db.init_app(app)

    # apply the blueprints to the app
    from . import auth, blog

    app.register_blueprint(auth.bp)
    app.register_blueprint(blog.bp)

    # make url_for('index') == url_for('blog.index'): the blog is the main index
    app.add_url_rule("/", endpoint="index")

    return app
