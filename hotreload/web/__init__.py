"""Web serving under `hotreload up` (the `web` extra): ASGI and WSGI apps with uvicorn
(`serving`), and the exports over HTTP for hosts in other languages (`exportserving`,
`exportsapi`, `openapi`, `codec`, `wiretypes`; `mcptools` for MCP; `eventstream` for SSE).

Rule of this layer: it imports the server and below; no framework is imported at module level,
so the core runs without the extra installed.
"""
