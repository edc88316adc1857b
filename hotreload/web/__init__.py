"""Web apps under `hotreload up`: serving ASGI and WSGI apps with uvicorn (the `web` extra).

Rule of this layer: it imports the server and below; no framework is imported at module level,
so the core runs without the extra installed.
"""
