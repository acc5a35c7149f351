"""The delivery contractor, reached as an external partner would be: through its API.

:class:`DeliveryPartnerAPI` stands in for the contractor's partner API (JSON over the wire,
status codes, its own request ids and request ledger); it only ever learns shipment
numbers, never who the subject is. :class:`ContractorConnector` is our side: it speaks the
connector protocol and maps the API's answers and status codes onto it.
"""

from __future__ import annotations

import json
from typing import Any, ClassVar

from models.rules.vocabulary import Origin, SystemAction
from systems.connector import DatabaseConnector
from systems.identity import SubjectIdentity
from systems.protocol import (
    ActionNotSupported,
    ActionResult,
    Located,
    PermanentSystemError,
    TransientSystemError,
)


class PartnerAPIError(Exception):
    def __init__(self, status: int, code: str):
        super().__init__(f"HTTP {status} {code}")
        self.status, self.code = status, code


class DeliveryPartnerAPI:
    """The contractor's side: ``POST /v1/consignments/<operation>`` with a JSON body."""

    OPERATIONS: ClassVar[dict[str, SystemAction]] = {
        "erase": SystemAction.ERASE,
        "restrict": SystemAction.RESTRICT,
        "rectify": SystemAction.RECTIFY,
    }

    def __init__(self, backend: DatabaseConnector):
        self._backend = backend

    def post(self, path: str, body: str) -> str:
        """One HTTP-like call: JSON text in, JSON text out, or :class:`PartnerAPIError`."""
        payload = json.loads(body)
        operation = path.removeprefix("/v1/consignments/")
        who = SubjectIdentity(email="", shipment_nos=tuple(payload.get("shipment_nos", ())))
        try:
            if operation == "search":
                return json.dumps({"consignments": self._backend.export(who)})
            if operation not in self.OPERATIONS:
                raise PartnerAPIError(404, "unknown_operation")
            action = self.OPERATIONS[operation]
            request_id = payload["request_id"]
            if action is SystemAction.RECTIFY:
                result = self._backend.rectify(who, payload["changes"], idempotency_key=request_id)
            else:
                result = getattr(self._backend, operation)(who, idempotency_key=request_id)
        except ActionNotSupported:
            raise PartnerAPIError(405, "operation_not_offered") from None
        except TransientSystemError:
            raise PartnerAPIError(503, "temporarily_unavailable") from None
        except PermanentSystemError:
            raise PartnerAPIError(409, "conflict") from None
        except (KeyError, TypeError):
            raise PartnerAPIError(400, "bad_request") from None
        return json.dumps(
            {
                "request_id": request_id,
                "duplicate": result.replayed,
                "affected": result.affected,
                "summary": result.done,
                "per_category": result.per_category,
            }
        )


class ContractorConnector:
    """Our connector for the contractor: the protocol on top of :class:`DeliveryPartnerAPI`."""

    def __init__(self, key: str, api: DeliveryPartnerAPI, actions: frozenset[SystemAction]):
        self.key, self._api, self.actions = key, api, actions

    def _call(self, operation: str, body: dict[str, Any]) -> dict[str, Any]:
        try:
            return json.loads(self._api.post(f"/v1/consignments/{operation}", json.dumps(body)))
        except PartnerAPIError as exc:
            if exc.status in (429, 502, 503, 504):
                raise TransientSystemError(self.key, f"partner API {exc}") from None
            if exc.status == 405:
                raise ActionNotSupported(self.key, f"partner API {exc}") from None
            raise PermanentSystemError(self.key, f"partner API {exc}") from None

    def export(self, identity: SubjectIdentity) -> list[dict[str, Any]]:
        if not identity.shipment_nos:
            return []
        rows = self._call("search", {"shipment_nos": list(identity.shipment_nos)})["consignments"]
        return [{**row, "_system": self.key} for row in rows]

    def locate(self, identity: SubjectIdentity) -> Located:
        rows = self.export(identity)
        return Located(
            self.key,
            {"consignments": len(rows)} if rows else {},
            {"consignments": [r["shipment_no"] for r in rows]} if rows else {},
            frozenset(Origin(r["origin"]) for r in rows),
            restricted=sum(r["restricted_at"] is not None for r in rows),
        )

    def _act(self, action: SystemAction, identity: SubjectIdentity, key: str, **extra: Any) -> ActionResult:
        if action not in self.actions:
            raise ActionNotSupported(self.key, f"{action} is not supported")
        answer = self._call(
            str(action), {"request_id": key, **extra, "shipment_nos": list(identity.shipment_nos)}
        )
        return ActionResult(
            self.key,
            action,
            key,
            answer["affected"],
            answer["duplicate"],
            answer["summary"],
            answer["per_category"],
        )

    def rectify(
        self, identity: SubjectIdentity, changes: dict[str, str], *, idempotency_key: str
    ) -> ActionResult:
        return self._act(SystemAction.RECTIFY, identity, idempotency_key, changes=changes)

    def erase(self, identity: SubjectIdentity, *, idempotency_key: str) -> ActionResult:
        return self._act(SystemAction.ERASE, identity, idempotency_key)

    def restrict(self, identity: SubjectIdentity, *, idempotency_key: str) -> ActionResult:
        return self._act(SystemAction.RESTRICT, identity, idempotency_key)

    def stop_provision(self, identity: SubjectIdentity, *, idempotency_key: str) -> ActionResult:
        return self._act(SystemAction.STOP_PROVISION, identity, idempotency_key)
