"""How a form on a waiting run reads to a Japanese operator, the words taken from
``flows/templates/forms.ja.toml``: every field titled and described, every choice listed by
its Japanese label, no decision pre-filled (a Resume with nothing chosen is refused by the
Prefect server, which validates the input against the form's JSON schema).

Prefect's UI lists an enum's *values* as they are, so a choice's value is its label and its
name is the code the flow acts on (``answer.field.code``). Code that answers a form (the
command line, the demo, tests) gives codes; :class:`Form` turns them into labels, and
:func:`filled` gives the input as the UI would send it."""

import tomllib
from collections.abc import Iterable, Sequence
from datetime import datetime
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import Annotated, Any, get_args

import pydantic
from jinja2 import Environment, FileSystemLoader, StrictUndefined
from prefect.input import RunInput
from pydantic import Field, StringConstraints, WithJsonSchema
from pydantic.json_schema import SkipJsonSchema

from models.requests import Document
from models.rules.deadlines import JST

TEMPLATES = Path(__file__).parent / "templates"

# Typed text that must be filled in (a certificate number): never a stand-in.
Required = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]


class Choice(StrEnum):
    """One choice of a form: the value is the Japanese label, the name the code."""

    @property
    def code(self) -> str:
        return self.name


@cache
def words() -> dict:
    return tomllib.loads((TEMPLATES / "forms.ja.toml").read_text("utf-8"))


@cache
def templates() -> Environment:
    return Environment(
        loader=FileSystemLoader(TEMPLATES),
        undefined=StrictUndefined,
        autoescape=False,
        keep_trailing_newline=True,
    )


def wait_text(
    name: str,
    *,
    reference: str | None = None,
    deadline: datetime | None = None,
    attempts: int | None = None,
    documents: Sequence[Document] = (),
    system: str | None = None,
    action: str | None = None,
    what: str | None = None,
    problems: Sequence[tuple[str, Sequence[str]]] = (),
) -> str:
    """The text above a form (``[waits]``), rendered. Prefect stores it with the pause, so it
    takes references and codes only, never what a person wrote or is called: the request's
    reference, a deadline and a count, the documents' rows (kind, type, size, when), a system
    and an action code, ``what``: the name of another ``[waits]`` text, and the problems of a
    refused answer (field name → messages of the form's own checks)."""
    waits = words()["waits"]
    return (
        templates()
        .from_string(waits[name])
        .render(
            reference=reference,
            deadline=deadline,
            attempts=attempts,
            documents=documents,
            kinds=words()["document_kinds"],
            system=system,
            action=action,
            what=waits[what] if what else None,
            problems=problems,
            jst=JST,
        )
    )


def choice(kind: str, codes: Iterable[str]) -> Any:
    """The choices ``codes`` of ``[choices.<kind>]``, as a field type whose JSON schema lists
    the labels in place (a ``$ref`` to a shared definition would lend the field its title)."""
    labels = words()["choices"][kind]
    codes = [str(c) for c in codes]
    # Enum's functional API, which mypy reads as StrEnum's one-argument constructor
    enum: type[Choice] = Choice(kind, {code: labels[code] for code in codes})  # type: ignore[call-arg, assignment]
    if len(enum) != len(codes):  # two codes with one label: the second would be lost
        raise ValueError(f"[choices.{kind}]: every choice needs its own label")
    return Annotated[enum, WithJsonSchema({"type": "string", "enum": [m.value for m in enum]})]


class Form(RunInput):
    """A form that takes a choice by its code as well as by its label, and says who answered:
    ``actor``, the name of the account the gate (web/gate.py) or the command line logged in,
    stamped over anything typed. It is not on the form: the JSON schema admits it only as a
    pattern property, which the UI does not draw but the server's check of the input accepts
    (the form forbids other keys). None: the run was resumed past the gate, nobody decided."""

    model_config = pydantic.ConfigDict(
        json_schema_extra={"patternProperties": {"^actor$": {"type": "string"}}}
    )

    actor: SkipJsonSchema[str | None] = None

    @pydantic.model_validator(mode="before")
    @classmethod
    def _labels_for_codes(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        for name, info in cls.model_fields.items():
            enum, value = _choices_of(info.annotation), data.get(name)
            if enum and isinstance(value, str) and value in enum.__members__:
                data[name] = enum[value]
        return data


def _choices_of(annotation: Any) -> type[Choice] | None:
    """The Choice enum of a field type (made by :func:`choice`, or as pydantic keeps it)."""
    enum = get_args(annotation)[0] if get_args(annotation) else annotation
    return enum if isinstance(enum, type) and issubclass(enum, Choice) else None


def field(form_name: str, key: str, annotation: Any, *default: Any, **context: str) -> tuple[Any, Any]:
    """A field of ``form_name`` titled and described by ``[forms.<form_name>].<key>`` (which
    may use ``context``, e.g. ``{item}``); without ``default`` it must be filled in. A
    choice's default is given by its code."""
    text = words()["forms"][form_name][key]
    if default and (enum := _choices_of(annotation)):  # a code: the UI shows the label
        default = (enum[default[0]],)
    return annotation, Field(
        *default, title=text["title"].format(**context), description=text["description"].format(**context)
    )


def simple_form(name: str, **fields: Any) -> type[Form]:
    """A form whose fields are named as their words: field → type, or (type, default). It
    defines a class when a module is imported; no value of a run passes through it."""
    definitions: dict[str, Any] = {  # Any: create_model's keywords also name its options
        f: field(name, f, *(spec if isinstance(spec, tuple) else (spec,))) for f, spec in fields.items()
    }
    return pydantic.create_model(name, __base__=Form, **definitions)


def filled(form_type: type[Form], **values: Any) -> dict:
    """The run input a person would submit on ``form_type`` (choices given by code), with
    ``actor`` only if given; raises ``pydantic.ValidationError`` for values the form does not take."""
    answer = form_type(**values)
    return answer.model_dump(mode="json", exclude=None if answer.actor else {"actor"})
