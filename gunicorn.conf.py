"""gunicorn's settings for the dashboard: ``gunicorn -c gunicorn.conf.py … app:server`` (see README).

Only what the command line cannot say lives here; workers, bind address and
``--chdir`` stay on the command line, where a deployment sets them.

The Server header: gunicorn writes ``Server: gunicorn`` itself, after the
application has answered, so the app's own hook cannot remove it, and no
gunicorn setting changes it. Its response class reads the name from a module
constant on every response, which this file sets before any worker starts.
``python app.py`` says the same word for Werkzeug (``app.main``), so neither
server names its software or version to a scanner.
"""

import gunicorn.http.wsgi

SERVER_HEADER = "dashboard"

gunicorn.http.wsgi.SERVER = SERVER_HEADER
