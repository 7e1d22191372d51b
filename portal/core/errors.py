"""Error pages that say what happened and leak nothing."""

from __future__ import annotations

from flask import Flask, render_template
from werkzeug.exceptions import HTTPException


def register(app: Flask) -> None:
    """Install the portal's error pages on ``app``."""

    @app.errorhandler(HTTPException)
    def http_error(exc: HTTPException):
        return render_template("error.html", code=exc.code, title=exc.name,
                               description=exc.description), exc.code

    if app.testing:
        return  # let tests see the exception itself

    @app.errorhandler(Exception)
    def server_error(exc: Exception):
        app.logger.exception("unhandled error")
        return render_template("error.html", code=500, title="Something went wrong",
                               description="The error has been logged. Nothing was charged "
                               "twice; please try again in a moment."), 500
