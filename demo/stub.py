"""A local SendGrid-compatible stub for the demo and the tests.

It speaks the parts of the v3 API madoguchi uses (mail send with SendGrid's validation
errors, unsubscribe-group suppressions, the Email Activity query by ``unique_args``), lists
what it received at ``GET /messages`` (docs/contract.md) and takes faults at ``POST /_faults``: a
status (429, 5xx, 400…) with ``Retry-After`` or a slow answer, for the next ``count`` sends or,
with ``seconds``, for every send in that time (an outage), in order; ``DELETE /_faults`` ends
them. It signs event-webhook posts with its own ECDSA P-256 key, as SendGrid
does; ``GET /_public_key`` gives the key for ``MADOGUCHI_SENDGRID_WEBHOOK_PUBLIC_KEY``.

Run it with ``python -m demo.stub --port 3030``; tests use :class:`SendGridStub` in-process.
"""

import argparse
import base64
import contextlib
import json
import re
import threading
import time
import urllib.error
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

_SUPPRESSIONS = re.compile(r"^/v3/asm/groups/(\d+)/suppressions(?:/([^/]+))?$")
_UNIQUE_ARG_QUERY = re.compile(r"""^unique_args\['([^']+)'\]="([^"]*)"$""")


def _error(message: str, field: str | None) -> dict:
    return {
        "message": message,
        "field": field,
        "help": "http://sendgrid.com/docs/API_Reference/Web_API_v3/Mail/errors.html",
    }


def validation_errors(payload) -> list[dict]:
    """The mail-send checks SendGrid answers with 400, in its own words."""
    if not isinstance(payload, dict):
        return [_error("Bad Request", None)]
    errors = []
    personalizations = payload.get("personalizations")
    if not personalizations:
        errors.append(
            _error(
                "The personalizations field is required and must have at least one personalization.",
                "personalizations",
            )
        )
    else:
        for i, p in enumerate(personalizations):
            if not p.get("to") or not all(isinstance(t, dict) and t.get("email") for t in p["to"]):
                errors.append(
                    _error(
                        "The to array is required for all personalization objects, and must have at least one email object with a valid email address.",
                        f"personalizations.{i}.to",
                    )
                )
    if not (payload.get("from") or {}).get("email"):
        errors.append(
            _error(
                "The from object must be provided for every email send. It is an object that requires the email parameter, but may also contain a name parameter.",
                "from",
            )
        )
    has_subject = payload.get("subject") or all(p.get("subject") for p in personalizations or [{}])
    if not has_subject and not payload.get("template_id"):
        errors.append(
            _error(
                "The subject is required. You can get around this requirement if you use a template with a subject defined or if every personalization has a subject defined.",
                "subject",
            )
        )
    content = payload.get("content")
    if not payload.get("template_id"):
        if not content:
            errors.append(
                _error(
                    "Unless a valid template_id is provided, the content parameter is required. There must be at least one defined content block. We typically suggest both text/plain and text/html blocks are included, but only one block is required.",
                    "content",
                )
            )
        elif not all(isinstance(c, dict) and c.get("type") and c.get("value") for c in content):
            errors.append(
                _error(
                    "The content value must be a string at least one character in length.", "content.0.value"
                )
            )
    return errors


class StubState:
    """What the stub has received and what it is told to do wrong next."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.messages: list[dict] = []
        self.message_ids: list[str] = []
        self.suppressions: dict[int, list[str]] = {}
        self.faults: list[dict] = []
        self.webhook_url: str | None = None
        self.private_key = ec.generate_private_key(ec.SECP256R1())

    @property
    def public_key(self) -> str:
        der = self.private_key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return base64.b64encode(der).decode()

    def next_fault(self) -> dict | None:
        """The fault this send meets: the first one queued, consumed by count or by time."""
        with self.lock:
            while self.faults:
                fault = self.faults[0]
                if fault["until"] is None:
                    fault["count"] -= 1
                    if fault["count"] <= 0:
                        self.faults.pop(0)
                    return fault
                if time.monotonic() < fault["until"]:
                    return fault
                self.faults.pop(0)
            return None

    def sign(self, body: bytes, timestamp: str) -> str:
        signature = self.private_key.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
        return base64.b64encode(signature).decode()

    def events_for(self, message_id: str, event: str, **extra) -> list[dict]:
        """SendGrid-shaped events for each recipient of a received message."""
        with self.lock:
            payload = self.messages[self.message_ids.index(message_id)]
        events = []
        for p in payload["personalizations"]:
            for to in p["to"]:
                events.append(
                    {
                        "email": to["email"],
                        "timestamp": int(time.time()),
                        "event": event,
                        "sg_event_id": uuid.uuid4().hex,
                        "sg_message_id": f"{message_id}.stub0",
                        "category": payload.get("categories", []),
                        **payload.get("custom_args", {}),
                        **p.get("custom_args", {}),
                        **extra,
                    }
                )
        return events

    def signed(self, events: list[dict], *, bad_signature: bool = False) -> tuple[str, dict]:
        """The body and headers of a signed webhook post (a bad signature on request)."""
        body = json.dumps(events)
        timestamp = str(int(time.time()))
        signature = self.sign(body.encode() + (b" " if bad_signature else b""), timestamp)
        return body, {
            "Content-Type": "application/json",
            "X-Twilio-Email-Event-Webhook-Signature": signature,
            "X-Twilio-Email-Event-Webhook-Timestamp": timestamp,
        }

    def post_events(self, url: str, events: list[dict], *, bad_signature: bool = False) -> int:
        body, headers = self.signed(events, bad_signature=bad_signature)
        request = urllib.request.Request(url, data=body.encode(), method="POST", headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status
        except urllib.error.HTTPError as exc:
            return exc.code


class _Handler(BaseHTTPRequestHandler):
    server_version = "SendGridStub/1"
    state: StubState

    def log_message(self, format, *args) -> None:  # the access log would print addresses
        pass

    def _reply(self, status: int, body=None, headers: dict | None = None) -> None:
        data = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if body is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _json(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        return json.loads(raw) if raw else None

    def _authorised(self) -> bool:
        auth = self.headers.get("Authorization", "")
        if auth.startswith("Bearer ") and auth[7:].strip() not in ("", "None"):
            return True
        self._reply(
            401,
            {
                "errors": [
                    {
                        "message": "The provided authorization grant is invalid, expired, or revoked",
                        "field": None,
                        "help": None,
                    }
                ]
            },
        )
        return False

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        if url.path == "/messages":
            with self.state.lock:
                return self._reply(200, list(self.state.messages))
        if url.path == "/_public_key":
            return self._reply(200, {"public_key": self.state.public_key})
        if not self._authorised():
            return
        if url.path == "/v3/messages":
            return self._activity(parse_qs(url.query).get("query", [""])[0])
        match = _SUPPRESSIONS.match(url.path)
        if match and not match.group(2):
            with self.state.lock:
                return self._reply(200, list(self.state.suppressions.get(int(match.group(1)), [])))
        self._reply(404, {"errors": [{"message": "not found", "field": None, "help": None}]})

    def _activity(self, query: str) -> None:
        match = _UNIQUE_ARG_QUERY.match(query)
        if not match:
            return self._reply(
                400, {"errors": [{"message": "invalid query", "field": "query", "help": None}]}
            )
        name, value = match.groups()
        with self.state.lock:
            found = [
                {
                    "msg_id": f"{mid}.stub0",
                    "status": "delivered",
                    "to_email": p["personalizations"][0]["to"][0]["email"],
                    "subject": p.get("subject"),
                }
                for mid, p in zip(self.state.message_ids, self.state.messages, strict=False)
                if p.get("custom_args", {}).get(name) == value
            ]
        self._reply(200, {"messages": found})

    def do_POST(self) -> None:
        path = urlsplit(self.path).path
        try:
            body = self._json()
        except ValueError:
            return self._reply(400, {"errors": [_error("Bad Request", None)]})
        if path == "/_faults":
            fault = {
                "status": None,
                "retry_after": None,
                "delay": 0.0,
                "count": 1,
                "seconds": None,
                **(body or {}),
            }
            try:
                fault["until"] = time.monotonic() + float(fault["seconds"]) if fault["seconds"] else None
            except (TypeError, ValueError):
                return self._reply(400, {"errors": [_error("seconds must be a number", "seconds")]})
            with self.state.lock:
                self.state.faults.append(fault)
            return self._reply(201, {k: v for k, v in fault.items() if k != "until"})
        if path == "/_webhook":
            self.state.webhook_url = (body or {}).get("url")
            return self._reply(200, {"url": self.state.webhook_url})
        if path == "/_events":
            return self._events(body or {})
        if not self._authorised():
            return
        if path == "/v3/mail/send":
            return self._send(body)
        match = _SUPPRESSIONS.match(path)
        if match and not match.group(2):
            emails = (body or {}).get("recipient_emails") or []
            with self.state.lock:
                group = self.state.suppressions.setdefault(int(match.group(1)), [])
                group.extend(e for e in emails if e not in group)
            return self._reply(201, {"recipient_emails": emails})
        self._reply(404, {"errors": [{"message": "not found", "field": None, "help": None}]})

    def _send(self, payload) -> None:
        fault = self.state.next_fault()
        if fault and fault["delay"]:
            time.sleep(fault["delay"])  # a slow answer: the message is still accepted below
        if fault and fault["status"]:
            headers = {"Retry-After": str(fault["retry_after"])} if fault["retry_after"] is not None else {}
            message = fault.get("message") or f"stub fault {fault['status']}"
            return self._reply(fault["status"], {"errors": [_error(message, fault.get("field"))]}, headers)
        errors = validation_errors(payload)
        if errors:
            return self._reply(400, {"errors": errors})
        message_id = uuid.uuid4().hex[:22]
        with self.state.lock:
            self.state.messages.append(payload)
            self.state.message_ids.append(message_id)
        self._reply(202, headers={"X-Message-Id": message_id})
        if self.state.webhook_url:
            threading.Thread(target=self._auto_events, args=(message_id, payload), daemon=True).start()

    def _auto_events(self, message_id: str, payload: dict) -> None:
        group = (payload.get("asm") or {}).get("group_id")
        with self.state.lock:
            suppressed = self.state.suppressions.get(group, []) if group else []
        to = payload["personalizations"][0]["to"][0]["email"]
        event = "dropped" if to in suppressed else "delivered"
        if url := self.state.webhook_url:  # unset since the message came: nobody to tell
            self.state.post_events(url, self.state.events_for(message_id, event))

    def _events(self, body: dict) -> None:
        """Test hook: events about a received message, posted signed to ``url`` (or the
        configured webhook), or with no URL at all handed back signed for the caller to post."""
        try:
            events = self.state.events_for(body["message_id"], body["event"], **body.get("extra", {}))
        except (KeyError, ValueError):
            return self._reply(
                404, {"errors": [{"message": "unknown message", "field": "message_id", "help": None}]}
            )
        bad = bool(body.get("bad_signature"))
        url = body.get("url") or self.state.webhook_url
        if url is None:
            signed_body, headers = self.state.signed(events, bad_signature=bad)
            return self._reply(200, {"body": signed_body, "headers": headers})
        self._reply(200, {"webhook_status": self.state.post_events(url, events, bad_signature=bad)})

    def do_DELETE(self) -> None:
        path = urlsplit(self.path).path
        if path == "/messages":
            with self.state.lock:
                self.state.messages.clear()
                self.state.message_ids.clear()
                self.state.faults.clear()
            return self._reply(204)
        if path == "/_faults":
            with self.state.lock:
                self.state.faults.clear()
            return self._reply(204)
        if not self._authorised():
            return
        match = _SUPPRESSIONS.match(path)
        if match and match.group(2):
            with self.state.lock:
                group = self.state.suppressions.get(int(match.group(1)), [])
                email = unquote(match.group(2))
                if email in group:
                    group.remove(email)
            return self._reply(204)
        self._reply(404, {"errors": [{"message": "not found", "field": None, "help": None}]})


class SendGridStub:
    """The stub on a port of its own in a background thread (port 0: any free port)."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.state = StubState()
        handler = type("Handler", (_Handler,), {"state": self.state})
        self.server = ThreadingHTTPServer((host, port), handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self.server.socket.getsockname()[:2]  # where port 0 was bound
        return f"http://{host}:{port}"

    def start(self) -> "SendGridStub":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def __enter__(self) -> "SendGridStub":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="SendGrid-compatible stub for madoguchi")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=3030)
    parser.add_argument("--webhook-url", help="post signed delivery events here")
    args = parser.parse_args(argv)
    stub = SendGridStub(args.host, args.port)
    stub.state.webhook_url = args.webhook_url
    print(f"SendGrid stub on {stub.url}  public key: {stub.state.public_key}", flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        stub.server.serve_forever()


if __name__ == "__main__":
    main()
