"""The operators' API for leak incidents on the gate (web/gate.py), behind the same login as
the Prefect UI: ``POST /desk/api/incidents`` records an incident as ``madoguchi incident report``
does, the reporting account named in the audit (models/rules/access.py: ``may_report_incident``).

JSON only (a cross-site form cannot send it without the browser asking first, so a logged-in
browser cannot be made to post one); bad input is answered 422 with each field, never a 500."""

import json

from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from deployments.registry import build_registry
from models.db import unit_of_work, utcnow
from models.rules.access import may_report_incident
from models.settings import Settings
from services import incidents
from web.documents_view import PRIVATE, Check, desk_person


def _invalid(errors: list[tuple[tuple, str]]) -> Response:
    detail = [
        {"loc": ["body", *loc], "field": ".".join(str(p) for p in loc), "msg": msg, "type": "value_error"}
        for loc, msg in errors
    ]
    return JSONResponse({"detail": detail}, status_code=422, headers=PRIVATE)


def _report(settings: Settings, data: incidents.IncidentReport, actor: str) -> str:
    registry = build_registry(settings)
    try:
        with unit_of_work(settings) as session:
            return incidents.report_incident(
                session, settings, data, registry=registry, actor=actor, now=utcnow()
            )
    finally:
        registry.dispose()


def routes(caller: Check, *, settings: Settings, challenge: dict[str, str]) -> list[Route]:
    """``caller`` and ``challenge`` as the document viewer's."""

    async def report(request: Request) -> Response:
        actor = await desk_person(request, caller, may_report_incident, challenge)
        if isinstance(actor, Response):
            return actor
        if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
            return JSONResponse(
                {"detail": "send the incident as application/json"}, status_code=415, headers=PRIVATE
            )
        try:
            data = incidents.IncidentReport.model_validate(json.loads(await request.body()))
        except json.JSONDecodeError as exc:
            return _invalid([((), f"not JSON: {exc}")])
        except ValidationError as exc:
            return _invalid([(tuple(e["loc"]), e["msg"]) for e in exc.errors()])
        try:
            reference = await run_in_threadpool(_report, settings, data, actor)
        except incidents.IncidentRejected as exc:
            return _invalid([(exc.loc, exc.message)])
        return JSONResponse(
            {"reference": reference, "status": incidents.REPORTED}, status_code=201, headers=PRIVATE
        )

    return [Route("/desk/api/incidents", report, methods=["POST"])]
