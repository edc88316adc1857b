"""Request handlers: edit them while `hotreload up` serves the app; the next response runs them.

The manifest freezes their signatures, so the routes in webapp.py can rely on them; the routes
call them through a binding, so a request never runs half of one version and half of another.
"""

from __future__ import annotations

import asyncio


def greet(name: str) -> dict[str, str]:
    return {"message": f"Hello, {name}!"}


async def predict(model: dict[str, object], text: str) -> dict[str, object]:
    """An async handler: it awaits, as real I/O would (a database, another service)."""
    await asyncio.sleep(0)
    words = len(text.split())
    return {
        "label": "long" if words > 3 else "short",
        "words": words,
        "model": model["name"],
        "model_loaded_at": model["loaded_at"],
    }
