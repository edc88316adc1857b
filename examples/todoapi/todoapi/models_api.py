"""What the API takes and returns: pydantic models, read from the ORM objects."""

from pydantic import BaseModel, ConfigDict


class TodoBase(BaseModel):
    title: str
    description: str | None = None


class TodoCreate(TodoBase):
    owner_id: int | None = None


class TodoUpdate(BaseModel):
    title: str | None = None
    description: str | None = None
    done: bool | None = None


class Todo(TodoBase):
    model_config = ConfigDict(from_attributes=True)

    id: int
    done: bool
    owner_id: int | None = None


class UserBase(BaseModel):
    email: str
    name: str


class UserCreate(UserBase):
    pass


class User(UserBase):
    model_config = ConfigDict(from_attributes=True)

    id: int
    is_active: bool
    todos: list[Todo] = []
