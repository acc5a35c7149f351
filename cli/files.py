"""Input files of the command line: JSON read and validated against the public input model,
each field error printed on a line of its own, exit code 2 for a bad file; never a traceback."""

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import typer
from pydantic import TypeAdapter, ValidationError

Loc = Sequence[str | int]
Where = Callable[[Any, Loc], str]  # (the file's data, an error's location) -> the place named


def place(data: Any, loc: Loc) -> str:
    """An error's place as a dotted path (``principal.email``, ``customers.0.name``)."""
    return ".".join(str(p) for p in loc) or "(body)"


def read_text(file: Path) -> str:
    """The file's text; a file that cannot be read or is not UTF-8 ends the command."""
    try:
        return file.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        typer.echo(f"{file}: not UTF-8 text", err=True)
    except OSError as exc:
        typer.echo(f"{file}: cannot be read: {exc.strerror}", err=True)
    raise typer.Exit(2)


def read_json(file: Path) -> Any:
    """The file's JSON; a file that is not JSON ends the command."""
    text = read_text(file)
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        typer.echo(f"{file}: not JSON: {exc}", err=True)
    raise typer.Exit(2)


def read_model(file: Path, model: Any, *, where: Where = place) -> Any:
    """``file`` validated as ``model`` (a pydantic model, or a type such as ``list[Model]``)."""
    return validated(read_json(file), model, where=where)


def validated(data: Any, model: Any, *, where: Where = place) -> Any:
    """``data`` as ``model``, or each error on a line of its own and exit code 2."""
    try:
        return TypeAdapter(model).validate_python(data)
    except ValidationError as exc:
        for error in exc.errors():
            typer.echo(f"{where(data, error['loc'])}: {error['msg']}", err=True)
    raise typer.Exit(2)
