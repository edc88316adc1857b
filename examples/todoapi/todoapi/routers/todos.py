"""/todos: list, create, read, update and delete todos."""

from fastapi import APIRouter, Depends, HTTPException, status
from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import models, models_api
from ..database import get_db

router = APIRouter(prefix="/todos", tags=["todos"])


def get_todo_or_404(todo_id: int, db: Session = Depends(get_db)) -> models.Todo:
    todo = db.get(models.Todo, todo_id)
    if todo is None:
        raise HTTPException(status_code=404, detail="Todo not found")
    return todo


@router.get("/", response_model=list[models_api.Todo])
def list_todos(skip: int = 0, limit: int = 100, db: Session = Depends(get_db)):
    query = select(models.Todo).order_by(models.Todo.id).offset(skip).limit(limit)
    return db.scalars(query).all()


@router.post("/", response_model=models_api.Todo, status_code=status.HTTP_201_CREATED)
def create_todo(todo: models_api.TodoCreate, db: Session = Depends(get_db)):
    if todo.owner_id is not None and db.get(models.User, todo.owner_id) is None:
        raise HTTPException(status_code=400, detail="Owner does not exist")
    db_todo = models.Todo(**todo.model_dump())
    db.add(db_todo)
    db.commit()
    db.refresh(db_todo)
    return db_todo


@router.get("/{todo_id}", response_model=models_api.Todo)
def read_todo(todo: models.Todo = Depends(get_todo_or_404)):
    return todo


@router.patch("/{todo_id}", response_model=models_api.Todo)
def update_todo(
    changes: models_api.TodoUpdate,
    todo: models.Todo = Depends(get_todo_or_404),
    db: Session = Depends(get_db),
):
    for field, value in changes.model_dump(exclude_unset=True).items():
        setattr(todo, field, value)
    db.commit()
    db.refresh(todo)
    return todo


@router.delete("/{todo_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_todo(todo: models.Todo = Depends(get_todo_or_404), db: Session = Depends(get_db)):
    db.delete(todo)
    db.commit()
