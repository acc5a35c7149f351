"""The service layer: what people, flows and the HTTP API do to a request.

Each function is one transaction's worth of work on the app database (a session is passed
in; the caller owns the unit of work), takes the time as an argument and writes its own
audit events. Prefect tasks and the CLI call these; nothing here imports Prefect. The
exception is ``services.lifecycle``: each of its functions is a whole transaction, so that
the lifecycle flow, which waits for days, holds no session.
"""
