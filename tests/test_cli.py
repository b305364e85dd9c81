"""`dnc-api`, run the way an operator runs it: a subprocess on a fresh database of each kind."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from jose import jwt

from api.platform.importer import import_document
from api.store import database as db
from models import Batch, CallRecord, Organization, User
from tests.conftest import (
    TEST_SECRET,
    drop_postgres_database,
    new_postgres_database,
    require_postgres,
)
from tests.support.client import GraphQLResponse, assert_error_code

REPO_ROOT = Path(__file__).resolve().parent.parent
GRAPHIQL_NODE_MODULES = REPO_ROOT / "api" / "graphql" / "graphiql" / "node_modules"
DIALECTS = ["sqlite", "postgres"]
# Settings the outer shell may carry; each test states its own.
CONFIG_PREFIXES = ("APP_ENV", "GRAPHIQL", "INTROSPECTION", "FIELD_SUGGESTIONS", "JWT_", "SMTP_")
PLATFORM_MODELS = (Organization, User, Batch, CallRecord)
NO_ROWS = {model.__name__: 0 for model in PLATFORM_MODELS}
ME = "{ me { email role } }"
T = TypeVar("T")

ORG_A = "0a000000-0000-4000-8000-00000000000a"
ORG_B = "0b000000-0000-4000-8000-00000000000b"
ORG_C = "0c000000-0000-4000-8000-00000000000c"
ADMIN_A = "1a000000-0000-4000-8000-0000000000a1"
MEMBER_A = "1a000000-0000-4000-8000-0000000000a2"
ADMIN_B = "1b000000-0000-4000-8000-0000000000b1"
ADMIN_C = "1c000000-0000-4000-8000-0000000000c1"
UNOWNED_BATCH = "2a000000-0000-4000-8000-0000000000a1"
OWNED_BATCH = "2a000000-0000-4000-8000-0000000000a2"
BATCH_C = "2c000000-0000-4000-8000-0000000000c1"
BARE_CALL = "3a000000-0000-4000-8000-0000000000a1"
FULL_CALL = "3a000000-0000-4000-8000-0000000000a2"
CALL_C = "3c000000-0000-4000-8000-0000000000c1"


# --- running the command -------------------------------------------------------------------


@dataclass(frozen=True)
class Cli:
    """`dnc-api` against one database, run in a scratch folder (dev secret, default files)."""

    database_url: str
    cwd: Path

    def env(self, **changes: str | None) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(CONFIG_PREFIXES)}
        env |= {"DATABASE_URL": self.database_url, "JWT_SECRET": TEST_SECRET}
        for name, value in changes.items():
            if value is None:
                env.pop(name, None)
            else:
                env[name] = value
        return env

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "api.cli", *args]

    def run(self, *args: str, **env: str | None) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            self.command(*args),
            cwd=self.cwd,
            env=self.env(**env),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    def ok(self, *args: str, **env: str | None) -> str:
        """Run, expect success, return stdout."""
        result = self.run(*args, **env)
        assert result.returncode == 0, (result.stdout, result.stderr)
        return result.stdout


def assert_refused(result: subprocess.CompletedProcess[str], *mentions: str) -> None:
    """A clear refusal: non-zero exit, each mention on stderr, no crash."""
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr, result.stderr
    for mention in mentions:
        assert mention in result.stderr, result.stderr


@contextlib.contextmanager
def empty_database(dialect: str, folder: Path) -> Iterator[str]:
    if dialect == "sqlite":
        yield f"sqlite://{folder / 'dnc.sqlite3'}"
        return
    require_postgres()
    url = new_postgres_database("dnc_cli")
    try:
        yield url
    finally:
        drop_postgres_database(url)


@pytest.fixture(params=DIALECTS)
def cli(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Cli]:
    """The command on a fresh, empty database."""
    with empty_database(request.param, tmp_path) as url:
        yield Cli(url, tmp_path)


@pytest.fixture
def migrated(cli: Cli) -> Cli:
    asyncio.run(db.migrate(cli.database_url))
    return cli


@pytest.fixture
def imported(migrated: Cli) -> Cli:
    """The command on a database holding `platform_document`."""
    in_database(migrated.database_url, lambda: import_document(platform_document()))
    return migrated


def migration_names(database_url: str) -> list[str]:
    return sorted(
        path.name for path in (db.migrations_location(database_url) / "models").glob("*.py")
    )


# --- reading the database ------------------------------------------------------------------


def in_database(database_url: str, work: Callable[[], Awaitable[T]]) -> T:
    async def run() -> T:
        await db.init_orm(database_url)
        try:
            return await work()
        finally:
            await db.close_orm()

    return asyncio.run(run())


def snapshot(database_url: str) -> dict[str, list[dict[str, Any]]]:
    """Every platform row, by model, in id order: equal snapshots mean nothing was written."""

    async def read() -> dict[str, list[dict[str, Any]]]:
        rows = {}
        for model in PLATFORM_MODELS:
            values = await model.all().values()
            rows[model.__name__] = sorted(values, key=lambda row: str(row["id"]))
        return rows

    return in_database(database_url, read)


def row_counts(database_url: str) -> dict[str, int]:
    return {name: len(rows) for name, rows in snapshot(database_url).items()}


def rows_by_id(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {str(row["id"]): row for row in rows}


# --- a real server -------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@dataclass
class Server:
    http: httpx.Client
    stdout: Path
    stderr: Path

    def output(self) -> str:
        return self.stdout.read_text()


def wait_until_healthy(process: subprocess.Popen[bytes], base_url: str, stderr: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"dnc-api serve exited with {process.returncode}:\n{stderr.read_text()}")
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                return
        time.sleep(0.1)
    pytest.fail(f"dnc-api serve did not become healthy:\n{stderr.read_text()}")


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextlib.contextmanager
def serving(cli: Cli, **env: str | None) -> Iterator[Server]:
    """`dnc-api serve` on a free port until the block ends."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    stdout, stderr = cli.cwd / f"serve-{port}.out", cli.cwd / f"serve-{port}.err"
    with stdout.open("wb") as out, stderr.open("wb") as err:
        process = subprocess.Popen(
            cli.command("serve", "--port", str(port)),
            cwd=cli.cwd,
            env=cli.env(**env),
            stdout=out,
            stderr=err,
        )
        try:
            wait_until_healthy(process, base_url, stderr)
            with httpx.Client(base_url=base_url, timeout=10) as http:
                yield Server(http, stdout, stderr)
        finally:
            stop(process)


def graphql(
    http: httpx.Client, query: str, *, token: str, headers: dict[str, str] | None = None
) -> GraphQLResponse:
    response = http.post(
        "/graphql",
        json={"query": query},
        headers={"Authorization": f"Bearer {token}", **(headers or {})},
    )
    return GraphQLResponse(response.status_code, response.json(), response.headers)


def me(http: httpx.Client, token: str) -> dict[str, Any]:
    user: dict[str, Any] = graphql(http, ME, token=token).data["me"]
    return user


# --- the demo ------------------------------------------------------------------------------

PERSON_LINE = re.compile(r"^(organization|admin|member|batch): ([0-9a-f-]{36}) \((.+)\)$", re.M)
CALL_LINE = re.compile(r"^call record: requestUUID ([0-9a-f-]{36}) number (\+\d+)$", re.M)
TOKEN_LINE = re.compile(r"^token: ([\w-]+\.[\w-]+\.[\w-]+)$", re.M)


@dataclass(frozen=True)
class Demo:
    ids: dict[str, str]  # "organization", "admin", "member", "batch" -> id
    labels: dict[str, str]  # the same keys -> name or email
    calls: dict[str, str]  # requestUUID -> phone number
    token: str


def parse_demo(stdout: str) -> Demo:
    people = PERSON_LINE.findall(stdout)
    tokens = TOKEN_LINE.findall(stdout)
    assert len(tokens) == 1, stdout
    return Demo(
        ids={kind: id_ for kind, id_, _ in people},
        labels={kind: label for kind, _, label in people},
        calls=dict(CALL_LINE.findall(stdout)),
        token=tokens[0],
    )


@dataclass(frozen=True)
class Served:
    cli: Cli
    server: Server
    demo: Demo

    @property
    def http(self) -> httpx.Client:
        return self.server.http


@pytest.fixture(scope="module", params=DIALECTS)
def served(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Served]:
    """One server per dialect, started on an empty database, then the demo loaded beside it."""
    folder = tmp_path_factory.mktemp(f"served-{request.param}")
    with empty_database(request.param, folder) as url:
        cli = Cli(url, folder)
        with serving(cli) as server:
            yield Served(cli, server, parse_demo(cli.ok("demo")))


# --- import documents ----------------------------------------------------------------------


def user_row(user_id: str, organization_id: str, **changes: Any) -> dict[str, Any]:
    row = {
        "id": user_id,
        "organizationId": organization_id,
        "email": f"{user_id[:8]}@example.com",
        "name": "Ada",
        "role": "ADMIN",
        "active": True,
    }
    return row | changes


def batch_row(
    batch_id: str, organization_id: str, owner_id: str | None, **changes: Any
) -> dict[str, Any]:
    row = {
        "id": batch_id,
        "organizationId": organization_id,
        "ownerId": owner_id,
        "name": "Campaign",
    }
    return row | changes


def call_row(batch_id: str, request_uuid: str, **changes: Any) -> dict[str, Any]:
    row = {
        "batchId": batch_id,
        "requestUUID": request_uuid,
        "phoneNumber": "+12125550101",
        "recordingUrl": None,
        "transcription": None,
        "calledAt": None,
    }
    return row | changes


def platform_document() -> dict[str, Any]:
    """Two organizations; a batch whose owner was deleted; a call with no recording yet."""
    return {
        "organizations": [{"id": ORG_A, "name": "Acme Calls"}, {"id": ORG_B, "name": "Globex"}],
        "users": [
            user_row(ADMIN_A, ORG_A),
            user_row(MEMBER_A, ORG_A, role="MEMBER", name=None),
            user_row(ADMIN_B, ORG_B),
        ],
        "batches": [
            batch_row(UNOWNED_BATCH, ORG_A, None, name="Orphaned campaign"),
            batch_row(OWNED_BATCH, ORG_A, ADMIN_A, name="Spring campaign"),
        ],
        "callRecords": [
            call_row(UNOWNED_BATCH, BARE_CALL),
            call_row(
                OWNED_BATCH,
                FULL_CALL,
                phoneNumber="+14155550102",
                recordingUrl="https://rec.example.com/2.mp3",
                transcription="Stop calling me.",
                calledAt="2026-11-02T15:04:05Z",
            ),
        ],
    }


def follow_up_document() -> dict[str, Any]:
    """Valid on top of `platform_document`: a rename and a new organization with one of each."""
    return {
        "organizations": [
            {"id": ORG_A, "name": "Acme Calls Renamed"},
            {"id": ORG_C, "name": "Initech"},
        ],
        "users": [user_row(ADMIN_C, ORG_C)],
        "batches": [batch_row(BATCH_C, ORG_C, ADMIN_C)],
        "callRecords": [call_row(BATCH_C, CALL_C)],
    }


def write_json(folder: Path, document: Any) -> Path:
    path = folder / f"import-{uuid.uuid4().hex[:8]}.json"
    path.write_text(json.dumps(document))
    return path


def new_id() -> str:
    return str(uuid.uuid4())


# ===========================================================================================
# migrate
# ===========================================================================================


def test_migrate_applies_the_migrations_then_is_up_to_date(cli: Cli) -> None:
    names = migration_names(cli.database_url)
    assert names
    assert cli.ok("migrate").strip() == f"applied: {', '.join(names)}"
    assert row_counts(cli.database_url) == NO_ROWS

    assert cli.ok("migrate").strip() == "database is up to date"


# ===========================================================================================
# demo
# ===========================================================================================


def test_demo_prints_ids_and_a_token_and_twice_is_harmless(cli: Cli) -> None:
    first = cli.ok("demo")
    after_first = snapshot(cli.database_url)
    second = cli.ok("demo")

    assert snapshot(cli.database_url) == after_first
    assert {name: len(rows) for name, rows in after_first.items()} == {
        "Organization": 1,
        "User": 2,
        "Batch": 1,
        "CallRecord": 3,
    }
    demo = parse_demo(first)
    assert parse_demo(second).ids == demo.ids
    assert set(demo.ids) == {"organization", "admin", "member", "batch"}
    users = rows_by_id(after_first["User"])
    assert {id_: users[id_]["role"] for id_ in (demo.ids["admin"], demo.ids["member"])} == {
        demo.ids["admin"]: "ADMIN",
        demo.ids["member"]: "MEMBER",
    }
    assert [str(row["id"]) for row in after_first["Organization"]] == [demo.ids["organization"]]
    assert [str(row["id"]) for row in after_first["Batch"]] == [demo.ids["batch"]]
    assert {str(row["request_uuid"]): row["phone_number"] for row in after_first["CallRecord"]} == (
        demo.calls
    )


def test_demo_token_works_against_the_served_app(served: Served) -> None:
    assert me(served.http, served.demo.token) == {
        "email": served.demo.labels["admin"],
        "role": "ADMIN",
    }


# ===========================================================================================
# serve
# ===========================================================================================


def test_serve_applies_pending_migrations_before_serving(served: Served) -> None:
    names = migration_names(served.cli.database_url)
    assert f"applied migrations: {', '.join(names)}" in served.server.output()
    assert served.cli.ok("migrate").strip() == "database is up to date"


def test_health_and_readiness(served: Served) -> None:
    assert served.http.get("/healthz").status_code == 200
    ready = served.http.get("/readyz")
    assert ready.status_code == 200, ready.text


def graphiql_page(http: httpx.Client) -> httpx.Response:
    return http.get("/graphql", headers={"Accept": "text/html"})


def asset_urls(html: str) -> list[str]:
    """Every script and stylesheet the page loads (inline `data:` URLs fetch nothing)."""
    found = re.findall(r'<(?:script|link)\b[^>]*\b(?:src|href)="([^"]+)"', html)
    return [url for url in found if not url.startswith("data:")]


def require_vendored_graphiql() -> None:
    if not GRAPHIQL_NODE_MODULES.is_dir():
        pytest.skip(f"GraphiQL assets not installed ({GRAPHIQL_NODE_MODULES})")


def test_graphiql_page_loads_its_assets_from_the_service(served: Served) -> None:
    require_vendored_graphiql()
    page = graphiql_page(served.http)

    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    urls = asset_urls(page.text)
    assert any(url.endswith(".js") for url in urls), page.text
    assert any(url.endswith(".css") for url in urls), page.text
    assert all(url.startswith("/static/graphiql/") for url in urls), urls
    assert "unpkg.com" not in page.text
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy
    assert "unpkg" not in policy


def test_graphiql_assets_answer(served: Served) -> None:
    require_vendored_graphiql()
    for url in asset_urls(graphiql_page(served.http).text):
        asset = served.http.get(url)
        assert asset.status_code == 200, url
        assert asset.content, url
        kind = "javascript" if url.endswith(".js") else "css"
        assert kind in asset.headers["content-type"], (url, asset.headers["content-type"])


@pytest.mark.parametrize("path", ["/healthz", "/graphql"])
def test_request_id_is_echoed(served: Served, path: str) -> None:
    sent = {"X-Request-ID": "abc-123"}
    if path == "/graphql":
        received = graphql(served.http, ME, token=served.demo.token, headers=sent).headers
    else:
        received = served.http.get(path, headers=sent).headers
    assert received["x-request-id"] == "abc-123"


def test_request_id_is_generated_when_absent_or_insane(served: Served) -> None:
    generated = [
        served.http.get("/healthz").headers["x-request-id"],
        served.http.get("/healthz").headers["x-request-id"],
        served.http.get("/healthz", headers={"X-Request-ID": "x" * 500}).headers["x-request-id"],
    ]
    assert all(generated), generated
    assert len(set(generated)) == 3, generated
    assert "x" * 500 not in generated


def test_metrics_count_graphql_requests(served: Served) -> None:
    me(served.http, served.demo.token)
    metrics = served.http.get("/metrics")

    assert metrics.status_code == 200
    assert metrics.headers["content-type"].startswith("text/plain")
    counted = re.search(
        r'^dnc_graphql_requests_total\{operation="me",outcome="ok"\} (\d+)\.\d+$',
        metrics.text,
        re.M,
    )
    assert counted, metrics.text
    assert int(counted.group(1)) >= 1


@pytest.mark.parametrize(
    "env", [{"GRAPHIQL": "false"}, {"APP_ENV": "production"}], ids=["GRAPHIQL=false", "production"]
)
def test_graphiql_can_be_switched_off(cli: Cli, env: dict[str, str]) -> None:
    with serving(cli, **env) as server:
        page = graphiql_page(server.http)
    assert page.status_code != 200
    assert 'id="graphiql"' not in page.text
    assert "/static/graphiql/" not in page.text


def test_production_without_a_jwt_key_refuses_to_serve(cli: Cli) -> None:
    result = cli.run("serve", "--port", str(free_port()), APP_ENV="production", JWT_SECRET=None)
    assert_refused(result, "JWT")
    assert not (cli.cwd / ".dnc-dev-jwt-secret").exists()


# ===========================================================================================
# token
# ===========================================================================================


@pytest.mark.parametrize("kind", ["admin", "member"])
def test_token_is_for_that_user(served: Served, kind: str) -> None:
    token = served.cli.ok("token", "--user", served.demo.ids[kind]).strip()
    assert me(served.http, token) == {"email": served.demo.labels[kind], "role": kind.upper()}


def test_token_ttl_is_honoured(served: Served) -> None:
    token = served.cli.ok("token", "--user", served.demo.ids["admin"], "--ttl", "1").strip()
    claims = jwt.get_unverified_claims(token)
    assert claims["exp"] - claims["iat"] == 1
    time.sleep(2.1)
    assert_error_code(graphql(served.http, ME, token=token), "UNAUTHENTICATED")


NO_SUCH_USER = str(uuid.UUID(int=1))


@pytest.mark.parametrize(
    ("user", "mention"),
    [(NO_SUCH_USER, NO_SUCH_USER), ("not-a-uuid", "--user")],
    ids=["unknown", "malformed"],
)
def test_token_for_no_such_user_is_refused(served: Served, user: str, mention: str) -> None:
    result = served.cli.run("token", "--user", user)
    assert_refused(result, mention)
    assert result.stdout == ""


# ===========================================================================================
# import
# ===========================================================================================


def test_import_upserts(migrated: Cli) -> None:
    document = platform_document()
    out = migrated.ok("import", str(write_json(migrated.cwd, document)))
    assert out.strip() == "imported 2 organizations, 3 users, 2 batches, 2 call records"
    first = snapshot(migrated.database_url)

    assert {name: len(rows) for name, rows in first.items()} == {
        "Organization": 2,
        "User": 3,
        "Batch": 2,
        "CallRecord": 2,
    }
    batches = rows_by_id(first["Batch"])
    assert batches[UNOWNED_BATCH]["owner_id"] is None
    assert str(batches[OWNED_BATCH]["owner_id"]) == ADMIN_A
    bare = next(row for row in first["CallRecord"] if str(row["request_uuid"]) == BARE_CALL)
    assert (bare["recording_url"], bare["transcription"], bare["called_at"]) == (None, None, None)
    assert rows_by_id(first["User"])[MEMBER_A]["name"] is None

    document["organizations"][0]["name"] = "Acme Calls Ltd"
    document["users"][1]["name"] = "Max Member"
    document["batches"][0]["name"] = "Renamed campaign"
    document["callRecords"][0]["transcription"] = "Transcribed later."
    migrated.ok("import", str(write_json(migrated.cwd, document)))
    second = snapshot(migrated.database_url)

    assert {name: len(rows) for name, rows in second.items()} == {
        name: len(rows) for name, rows in first.items()
    }
    assert rows_by_id(second["Organization"])[ORG_A]["name"] == "Acme Calls Ltd"
    assert rows_by_id(second["Organization"])[ORG_B]["name"] == "Globex"
    assert rows_by_id(second["User"])[MEMBER_A]["name"] == "Max Member"
    assert rows_by_id(second["Batch"])[UNOWNED_BATCH]["name"] == "Renamed campaign"
    bare = next(row for row in second["CallRecord"] if str(row["request_uuid"]) == BARE_CALL)
    assert bare["transcription"] == "Transcribed later."
    assert {str(row["id"]) for row in second["CallRecord"]} == {
        str(row["id"]) for row in first["CallRecord"]
    }


def append(section: str, row: dict[str, Any]) -> Callable[[dict[str, Any]], None]:
    return lambda document: document[section].append(row)


BAD_IMPORTS = [
    pytest.param(
        append("batches", batch_row(new_id(), ORG_C, None, name=42)),
        "batches[1].name",
        id="name-not-text",
    ),
    pytest.param(
        append("users", user_row(new_id(), ORG_C, role="BOSS")), "users[1].role", id="role"
    ),
    pytest.param(
        append("callRecords", call_row(BATCH_C, "not-a-uuid")),
        "callRecords[1].requestUUID",
        id="request-uuid",
    ),
    pytest.param(
        append("batches", batch_row(new_id(), ORG_C, ADMIN_B)),
        "batches[1].ownerId",
        id="owner-in-db-of-another-org",
    ),
    pytest.param(
        append("batches", batch_row(new_id(), ORG_A, ADMIN_C)),
        "batches[1].ownerId",
        id="owner-in-file-of-another-org",
    ),
    pytest.param(
        append("users", user_row(new_id(), new_id())), "users[1].organizationId", id="no-such-org"
    ),
    pytest.param(
        append("users", user_row(ADMIN_B, ORG_C)), "users[1].organizationId", id="user-changes-org"
    ),
    pytest.param(
        append("callRecords", call_row(new_id(), new_id())),
        "callRecords[1].batchId",
        id="no-such-batch",
    ),
    pytest.param(
        append("users", user_row(new_id(), ORG_C, email="nobody")), "users[1].email", id="email"
    ),
    pytest.param(
        append("users", user_row(new_id(), ORG_C, active="yes")), "users[1].active", id="active"
    ),
    pytest.param(
        append("callRecords", call_row(BATCH_C, new_id(), calledAt="yesterday")),
        "callRecords[1].calledAt",
        id="called-at",
    ),
    pytest.param(
        append("organizations", {"id": ORG_C, "name": "Initech again"}),
        "organizations[2].id",
        id="duplicate-id",
    ),
    pytest.param(lambda document: document.update(campaigns=[]), "campaigns", id="unknown-section"),
    pytest.param(
        append("users", user_row(new_id(), ORG_C, role=["ADMIN"])),
        "users[1].role",
        id="role-not-text",
    ),
    pytest.param(
        append("users", user_row(new_id(), ORG_C, email="b@b.example,evil@x.example")),
        "users[1].email",
        id="two-emails",
    ),
    pytest.param(
        append("callRecords", call_row(BATCH_C, new_id(), calledAt="0001-01-01T00:00:00+05:00")),
        "callRecords[1].calledAt",
        id="called-at-out-of-range",
    ),
]


@pytest.mark.parametrize(("change", "path"), BAD_IMPORTS)
def test_bad_import_names_the_field_and_writes_nothing(
    imported: Cli, change: Callable[[dict[str, Any]], None], path: str
) -> None:
    before = snapshot(imported.database_url)
    document = follow_up_document()  # valid rows first, the bad one last in its section
    change(document)

    result = imported.run("import", str(write_json(imported.cwd, document)))

    assert_refused(result, f"{path}:")
    assert snapshot(imported.database_url) == before


@pytest.mark.parametrize(
    ("content", "mention"),
    [("{not json", "not JSON"), ("[1, 2]", "$:"), (None, "cannot read")],
    ids=["not-json", "not-an-object", "missing-file"],
)
def test_import_refuses_an_unreadable_document(
    migrated: Cli, content: str | None, mention: str
) -> None:
    path = migrated.cwd / "platform.json"
    if content is not None:
        path.write_text(content)

    result = migrated.run("import", str(path))

    assert_refused(result, mention)
    assert row_counts(migrated.database_url) == NO_ROWS


@pytest.fixture
def postgres_imported(tmp_path: Path) -> Iterator[Cli]:
    with empty_database("postgres", tmp_path) as url:
        asyncio.run(db.migrate(url))
        in_database(url, lambda: import_document(platform_document()))
        yield Cli(url, tmp_path)


def document_postgres_cannot_store() -> dict[str, Any]:
    """Passes every check, but PostgreSQL text cannot hold NUL: the last write fails."""
    document = follow_up_document()
    document["callRecords"].append(call_row(BATCH_C, new_id(), transcription="stop\u0000calling"))
    return document


def test_import_failing_mid_write_leaves_nothing_behind(postgres_imported: Cli) -> None:
    before = snapshot(postgres_imported.database_url)

    result = postgres_imported.run(
        "import", str(write_json(postgres_imported.cwd, document_postgres_cannot_store()))
    )

    assert result.returncode != 0
    assert snapshot(postgres_imported.database_url) == before


def test_import_refuses_text_postgres_cannot_store(postgres_imported: Cli) -> None:
    result = postgres_imported.run(
        "import", str(write_json(postgres_imported.cwd, document_postgres_cannot_store()))
    )
    assert_refused(result, "callRecords[1].transcription:")


# ===========================================================================================
# makemigrations
# ===========================================================================================


def test_committed_migrations_match_the_models(tmp_path: Path) -> None:
    before = sorted(p.relative_to(REPO_ROOT) for p in (REPO_ROOT / "migrations").rglob("*.py"))
    cli = Cli(f"sqlite://{tmp_path / 'dnc.sqlite3'}", tmp_path)

    out = cli.ok("makemigrations", "--check")

    assert out.splitlines() == ["sqlite: no changes", "postgres: no changes"]
    assert (
        sorted(p.relative_to(REPO_ROOT) for p in (REPO_ROOT / "migrations").rglob("*.py")) == before
    )
