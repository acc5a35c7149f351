"""Input files of the command line: JSON read and validated against the public input model,
each field error printed on a line of its own, exit code 2 for a bad file."""

import json
from pathlib import Path
from typing import TypeVar

import typer
from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)


def read_model(file: Path, model: type[M]) -> M:
    try:
        return model.model_validate(json.loads(file.read_text(encoding="utf-8")))
    except json.JSONDecodeError as exc:
        typer.echo(f"{file}: not JSON: {exc}", err=True)
    except ValidationError as exc:
        for error in exc.errors():
            typer.echo(f"{'.'.join(str(p) for p in error['loc']) or '(body)'}: {error['msg']}", err=True)
    raise typer.Exit(2)
