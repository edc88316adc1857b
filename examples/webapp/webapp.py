"""The FastAPI app that `hotreload up` serves: routes, and start-up state that outlives reloads.

Routes call the handlers through a binding (`hotreload.current().module(...)`): a call waits
for a reload in progress (an async route awaits it, never blocking the event loop) and then runs
the latest accepted version. The model is loaded once, here, at start-up: editing handlers.py
never loads it again.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates

import hotreload

HERE = Path(__file__).parent


def load_model() -> dict[str, object]:
    """Stands in for a slow start-up: model weights, a warmed cache, a connection pool."""
    seconds = float(os.environ.get("WEBAPP_MODEL_SECONDS", "2"))
    print(f"webapp: loading the model ({seconds:g} s)", flush=True)
    time.sleep(seconds)
    return {"name": "demo-model", "loaded_at": time.time()}


MODEL = load_model()
handlers = hotreload.current().module("handlers")
app = FastAPI(title="hotreload webapp example")
# A page: open it in a browser; under `hotreload up` it follows every save by itself.
app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
templates = Jinja2Templates(directory=HERE / "templates")


@app.get("/", response_class=HTMLResponse)
def index(request: Request) -> HTMLResponse:
    greeting = handlers.greet("you")["message"]
    return templates.TemplateResponse(request, "index.html", {"greeting": greeting})


@app.get("/greet/{name}")
def greet(name: str) -> dict[str, str]:
    return handlers.greet(name)


@app.get("/predict")
async def predict(text: str) -> dict[str, object]:
    return await handlers.predict(MODEL, text)


@app.get("/health")
async def health() -> dict[str, str]:
    """Touches no handler: it answers even while a reload holds the handlers."""
    return {"status": "ok"}
