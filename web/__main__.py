"""``python -m web``: the intake service on ``MADOGUCHI_INTAKE_PORT`` (what ``madoguchi up``
starts). Uvicorn's own access log is off: it would print paths and query strings, which may
hold a reference or an unsubscribe token; :class:`web.guards.AccessLog` logs routes instead."""

import argparse
import logging

import uvicorn

from deployments.tls import share_tls_contexts
from models.settings import get_settings
from web.app import create_app


def main(argv: list[str] | None = None) -> None:
    settings = get_settings()
    parser = argparse.ArgumentParser(description="madoguchi intake service")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=settings.intake_port)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    share_tls_contexts()  # every submission dispatches through a Prefect client
    uvicorn.run(
        create_app(settings),
        host=args.host,
        port=args.port,
        access_log=False,
        log_level="info",
        timeout_graceful_shutdown=3,
    )


if __name__ == "__main__":
    main()
