"""Error pages that say what happened and leak nothing."""

from __future__ import annotations

from flask import Flask, render_template
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

# The largest request body accepted: a dispute message's five attachments of 10 MB each
# (portal.disputes.files) and the form around them. Anything bigger is refused with a 413
# before it is read.
MAX_REQUEST_BYTES = 5 * 10 * 1024 * 1024 + 1024 * 1024


def register(app: Flask) -> None:
    """Install the portal's error pages on ``app``."""

    app.config["MAX_CONTENT_LENGTH"] = MAX_REQUEST_BYTES

    @app.errorhandler(RequestEntityTooLarge)
    def too_large(exc: RequestEntityTooLarge):
        return render_template("error.html", code=413, title=_("Too much to send"),
                               description=_("What you sent is larger than the portal "
                                             "accepts: at most 5 files of 10 MB each. "
                                             "Nothing was saved.")), 413

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
