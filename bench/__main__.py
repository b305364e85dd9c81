"""`python -m bench [--quick] [--only WORKLOAD ...]`: the benchmark of issue 5.

Seeds a dedicated PostgreSQL database, runs the service and the raw baseline side by side,
drives both with the same workloads and writes results/<timestamp>.md, latest.md, latest.png.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from bench.run import Options, run
from bench.workloads import FULL, QUICK

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/dnc_bench"
WORKLOADS = ("add", "entries", "entry", "check", "add-many", "export")


def parse(argv: list[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--database-url",
        default=DEFAULT_DATABASE_URL,
        help="a database of its own: it is dropped and recreated (default %(default)s)",
    )
    parser.add_argument(
        "--out", type=Path, default=Path(__file__).parent / "results", help="results folder"
    )
    parser.add_argument("--quick", action="store_true", help="50,000 entries, short levels")
    parser.add_argument(
        "--only", action="append", choices=WORKLOADS, help="run only this workload (repeatable)"
    )
    parser.add_argument(
        "--reuse-database",
        action="store_true",
        help="keep the database if it already holds a seed of this size",
    )
    parser.add_argument(
        "--mail",
        choices=("held", "sink"),
        default="held",
        help="held: the deliverer waits on a silent relay (default); sink: emails are delivered",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="sample the service with py-spy: results/profile-<workload>.md",
    )
    args = parser.parse_args(argv)
    return Options(
        database_url=args.database_url,
        out=args.out,
        scale=QUICK if args.quick else FULL,
        only=frozenset(args.only or ()),
        reuse_database=args.reuse_database,
        mail=args.mail,
        profile=args.profile,
    )


def main(argv: list[str] | None = None) -> int:
    options = parse(argv)
    try:
        asyncio.run(run(options))
    except KeyboardInterrupt:
        print("interrupted: servers stopped", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
