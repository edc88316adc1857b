"""The app: the routers, the home page, and the database created at start-up."""

from pathlib import Path

from fastapi import Depends, FastAPI, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from . import models
from .database import get_db, init_db
from .routers import todos, users

init_db()

app = FastAPI(title="Todo API", version="0.1.0")
app.include_router(users.router)
app.include_router(todos.router)

templates = Jinja2Templates(directory=Path(__file__).resolve().parent / "templates")


@app.get("/", response_class=HTMLResponse)
def index(request: Request, db: Session = Depends(get_db)):
    todos = db.scalars(select(models.Todo).order_by(models.Todo.id)).all()
    return templates.TemplateResponse(request, "index.html", {"todos": todos, "title": "Todos"})


@app.get("/health")
def health():
    return {"status": "ok"}


@app.get("/stats")
def stats(db: Session = Depends(get_db)):
    total = db.scalar(select(func.count()).select_from(models.Todo))
    done = db.scalar(select(func.count()).select_from(models.Todo).where(models.Todo.done))
    return {"todos": total, "done": done}
