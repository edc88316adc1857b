"""/users: register users, read them and their todos."""

from fastapi import APIRouter, Depends, HTTPException
from sqlalchemy import select
from sqlalchemy.orm import Session

from .. import models, models_api
from ..database import get_db

router = APIRouter(prefix="/users", tags=["users"])


@router.post("/", response_model=models_api.User, status_code=201)
def create_user(user: models_api.UserCreate, db: Session = Depends(get_db)):
    existing = db.scalar(select(models.User).where(models.User.email == user.email))
    if existing is not None:
        raise HTTPException(status_code=400, detail="Email already registered")
    db_user = models.User(email=user.email, name=user.name)
    db.add(db_user)
    db.commit()
    db.refresh(db_user)
    return db_user


@router.get("/", response_model=list[models_api.User])
def list_users(skip: int = 0, limit: int = 100, db: Session = Depends(get_db)):
    return db.scalars(select(models.User).order_by(models.User.id).offset(skip).limit(limit)).all()


@router.get("/{user_id}", response_model=models_api.User)
def read_user(user_id: int, db: Session = Depends(get_db)):
    user = db.get(models.User, user_id)
    if user is None:
        raise HTTPException(status_code=404, detail="User not found")
    return user


@router.get("/{user_id}/todos", response_model=list[models_api.Todo])
def read_user_todos(user_id: int, db: Session = Depends(get_db)):
    user = read_user(user_id, db)
    return user.todos
