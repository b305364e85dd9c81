"""`dnc-api serve`: it migrates, then serves health, GraphiQL, request ids and metrics; it refuses
production without a signing key."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest

from api.graphql import graphiql
from tests.cli.database import migration_names
from tests.cli.demo import Served, me
from tests.support.operations import ME
from tests.support.processes import Cli, assert_refused, free_port, graphql, serving

GRAPHIQL_NODE_MODULES = Path(graphiql.__file__).parent / "node_modules"


def graphiql_page(http: httpx.Client) -> httpx.Response:
    return http.get("/graphql", headers={"Accept": "text/html"})


def asset_urls(html: str) -> list[str]:
    """Every script and stylesheet the page loads (inline `data:` URLs fetch nothing)."""
    found = re.findall(r'<(?:script|link)\b[^>]*\b(?:src|href)="([^"]+)"', html)
    return [url for url in found if not url.startswith("data:")]


def require_vendored_graphiql() -> None:
    if not GRAPHIQL_NODE_MODULES.is_dir():
        pytest.skip(f"GraphiQL assets not installed ({GRAPHIQL_NODE_MODULES})")


def test_serve_applies_pending_migrations_before_serving(served: Served) -> None:
    names = migration_names(served.cli.database_url)
    assert f"applied migrations: {', '.join(names)}" in served.server.output()
    assert served.cli.ok("migrate").strip() == "database is up to date"


def test_health_and_readiness(served: Served) -> None:
    assert served.http.get("/healthz").status_code == 200
    ready = served.http.get("/readyz")
    assert ready.status_code == 200, ready.text


# --- GraphiQL ------------------------------------------------------------------------------


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


@pytest.mark.parametrize(
    "env", [{"GRAPHIQL": "false"}, {"APP_ENV": "production"}], ids=["GRAPHIQL=false", "production"]
)
def test_graphiql_can_be_switched_off(cli: Cli, env: dict[str, str]) -> None:
    with serving(cli, **env) as server:
        page = graphiql_page(server.http)
    assert page.status_code != 200
    assert 'id="graphiql"' not in page.text
    assert "/static/graphiql/" not in page.text


# --- request ids and metrics ---------------------------------------------------------------


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


# --- production ----------------------------------------------------------------------------


def test_production_without_a_jwt_key_refuses_to_serve(cli: Cli) -> None:
    result = cli.run("serve", "--port", str(free_port()), APP_ENV="production", JWT_SECRET=None)
    assert_refused(result, "JWT")
    assert not (cli.cwd / ".dnc-dev-jwt-secret").exists()
