"""`python -m bench.baseline --port P`: the baseline under uvicorn, run as `dnc-api serve` runs."""

from __future__ import annotations

import argparse

import uvicorn

from api.logs import configure_logging
from bench.baseline import create_app


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.baseline", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8001)
    args = parser.parse_args()
    configure_logging()  # the service's log set-up: uvicorn's access log included
    uvicorn.run(
        create_app(),
        host=args.host,
        port=args.port,
        log_config=None,
        proxy_headers=True,
        timeout_graceful_shutdown=30,
    )


if __name__ == "__main__":
    main()
