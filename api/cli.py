"""The `dnc-api` command: serve, migrate, import, export, demo, token, makemigrations."""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import IO, Any
from urllib.parse import quote

from api.auth import issue_token
from api.dnc.export import write_export
from api.logs import configure_logging
from api.platform.demo import DEMO_ADMIN_ID, demo_document
from api.platform.importer import ImportRefused, import_document
from api.settings import ConfigError, Settings
from api.store import database as db
from models import DncEntryStatus, Organization, User

DEFAULT_TOKEN_TTL = 24 * 3600


def _settings() -> Settings:
    return Settings.from_env().with_dev_secret()


async def _with_orm(settings: Settings, work: Callable[[], Awaitable[Any]]) -> Any:
    await db.init_orm(settings.database_url, settings.db_pool_size)
    try:
        return await work()
    finally:
        await db.close_orm()


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from api.app import create_app

    settings = _settings()
    configure_logging()
    applied = asyncio.run(db.migrate(settings.database_url))
    if applied:
        print(f"applied migrations: {', '.join(applied)}", flush=True)
    if settings.graphiql:
        print(f"GraphiQL: http://{args.host}:{args.port}/graphql", flush=True)
    uvicorn.run(
        create_app(settings),
        host=args.host,
        port=args.port,
        log_config=None,
        proxy_headers=True,
        timeout_graceful_shutdown=30,
        ws_max_size=settings.max_body_bytes,
    )
    return 0


def cmd_migrate(args: argparse.Namespace) -> int:
    settings = _settings()
    applied = asyncio.run(db.migrate(settings.database_url))
    print(f"applied: {', '.join(applied)}" if applied else "database is up to date")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    settings = _settings()
    try:
        document = json.loads(Path(args.file).read_text())
    except (OSError, UnicodeDecodeError) as error:
        print(f"import refused: cannot read {args.file}: {error}", file=sys.stderr)
        return 2
    except json.JSONDecodeError as error:
        print(f"import refused: {args.file} is not JSON: {error}", file=sys.stderr)
        return 2
    try:
        summary = asyncio.run(_with_orm(settings, lambda: import_document(document)))
    except ImportRefused as refusal:
        print(f"import refused, nothing written: {refusal}", file=sys.stderr)
        return 2
    print(
        f"imported {summary.organizations} organizations, {summary.users} users, "
        f"{summary.batches} batches, {summary.call_records} call records"
    )
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    """Write the CSV export to --out (complete or not at all) or to stdout."""
    settings = _settings()
    try:
        organization_id = uuid.UUID(args.org)
    except ValueError:
        print("--org must be an organization id (UUID)", file=sys.stderr)
        return 2
    status = DncEntryStatus(args.status) if args.status else None

    async def export(out: IO[str]) -> int | None:
        if not await Organization.exists(id=organization_id):
            return None
        return await write_export(organization_id=organization_id, status=status, out=out)

    if args.out is None:
        written = asyncio.run(_with_orm(settings, lambda: export(sys.stdout)))
    else:
        target = Path(args.out)
        # A cut-short export must never pass for a whole one: write aside, rename when done.
        try:
            scratch = tempfile.NamedTemporaryFile(  # noqa: SIM115 (closed before the rename)
                "w",
                encoding="utf-8",
                newline="",
                dir=target.parent,
                delete=False,
                prefix=f".{target.name}.",
                suffix=".partial",
            )
        except OSError as error:
            print(f"cannot write {target}: {error}", file=sys.stderr)
            return 2
        try:
            with scratch:
                written = asyncio.run(_with_orm(settings, lambda: export(scratch)))
            if written is not None:
                Path(scratch.name).replace(target)
        finally:
            Path(scratch.name).unlink(missing_ok=True)
    if written is None:
        print(f"no organization {organization_id}", file=sys.stderr)
        return 2
    print(f"exported {written} entries", file=sys.stderr if args.out is None else sys.stdout)
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    settings = _settings()
    asyncio.run(db.migrate(settings.database_url))
    document = demo_document()
    asyncio.run(_with_orm(settings, lambda: import_document(demo_document())))
    org = document["organizations"][0]
    print(f"organization: {org['id']} ({org['name']})")
    for user in document["users"]:
        print(f"{user['role'].lower()}: {user['id']} ({user['email']})")
    batch = document["batches"][0]
    print(f"batch: {batch['id']} ({batch['name']})")
    for call in document["callRecords"]:
        print(f"call record: requestUUID {call['requestUUID']} number {call['phoneNumber']}")
    try:
        token = issue_token(
            user_id=uuid.UUID(DEMO_ADMIN_ID),
            organization_id=uuid.UUID(org["id"]),
            settings=settings,
            ttl_seconds=DEFAULT_TOKEN_TTL,
        )
    except ValueError as error:
        print(f"no token printed: {error}", file=sys.stderr)
        return 2
    headers = quote(json.dumps({"Authorization": f"Bearer {token}"}))
    print(f"graphiql: http://{args.host}:{args.port}/graphql#headers={headers}")
    print(f"token: {token}")
    return 0


def cmd_token(args: argparse.Namespace) -> int:
    settings = _settings()
    try:
        user_id = uuid.UUID(args.user)
    except ValueError:
        print("--user must be a user id (UUID)", file=sys.stderr)
        return 2
    user = asyncio.run(_with_orm(settings, lambda: User.get_or_none(id=user_id)))
    if user is None:
        print(f"no user {user_id}", file=sys.stderr)
        return 2
    try:
        token = issue_token(
            user_id=user.id,
            organization_id=uuid.UUID(str(user.organization_id)),
            settings=settings,
            ttl_seconds=args.ttl,
        )
    except ValueError as error:
        print(str(error), file=sys.stderr)
        return 2
    print(token)
    return 0


def cmd_makemigrations(args: argparse.Namespace) -> int:
    """Write the migration for each dialect; with --check, only report whether one is missing."""
    if args.dialect:
        root = Path(args.root) if args.root else db.MIGRATIONS_ROOT
        written = asyncio.run(db.make_migration(args.dialect, args.name, root))
        print(written or "no changes")
        return 0
    missing = False
    for dialect in db.OFFLINE_URLS:
        with tempfile.TemporaryDirectory() as scratch:
            root = db.MIGRATIONS_ROOT
            if args.check:
                root = Path(scratch) / "migrations"
                shutil.copytree(db.MIGRATIONS_ROOT, root)
            # aerich keeps its diff in class state: one process per dialect.
            out = subprocess.run(  # noqa: S603 (our own interpreter and module)
                [
                    sys.executable,
                    "-m",
                    "api.cli",
                    "makemigrations",
                    "--name",
                    args.name,
                    "--dialect",
                    dialect,
                    "--root",
                    str(root),
                ],
                check=True,
                capture_output=True,
                text=True,
            ).stdout.strip()
        print(f"{dialect}: {out}")
        missing = missing or out != "no changes"
    if args.check and missing:
        print("models changed without a migration: run `dnc-api makemigrations --name <what>`")
        return 1
    return 0


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="dnc-api", description=__doc__)
    commands = root.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="apply pending migrations and run the API")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.set_defaults(run=cmd_serve)

    commands.add_parser("migrate", help="apply pending migrations").set_defaults(run=cmd_migrate)

    imp = commands.add_parser("import", help="upsert platform data from a JSON file")
    imp.add_argument("file")
    imp.set_defaults(run=cmd_import)

    export = commands.add_parser("export", help="write an organization's list as CSV")
    export.add_argument("--org", required=True, help="organization id")
    export.add_argument(
        "--status", type=str.upper, choices=[s.value for s in DncEntryStatus], help="only these"
    )
    export.add_argument("--out", help="file to write (default: stdout)")
    export.set_defaults(run=cmd_export)

    demo = commands.add_parser("demo", help="load the demo organization and print a token")
    demo.add_argument("--host", default="127.0.0.1", help="for the printed GraphiQL address")
    demo.add_argument("--port", type=int, default=8000, help="for the printed GraphiQL address")
    demo.set_defaults(run=cmd_demo)

    token = commands.add_parser("token", help="print a signed token for a user (HS* secret)")
    token.add_argument("--user", required=True)
    token.add_argument("--ttl", type=int, default=DEFAULT_TOKEN_TTL, help="seconds")
    token.set_defaults(run=cmd_token)

    make = commands.add_parser("makemigrations", help="write migrations for both dialects")
    make.add_argument("--name", default="drift_check")
    make.add_argument("--check", action="store_true", help="fail if a migration is missing")
    make.add_argument("--dialect", choices=sorted(db.OFFLINE_URLS), help=argparse.SUPPRESS)
    make.add_argument("--root", help=argparse.SUPPRESS)
    make.set_defaults(run=cmd_makemigrations)
    return root


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        code: int = args.run(args)
    except ConfigError as error:
        print(f"configuration error: {error}", file=sys.stderr)
        return 2
    return code


if __name__ == "__main__":
    sys.exit(main())
