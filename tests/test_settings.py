"""api/settings.py's configuration checks: the JWT key and algorithms, production's defaults,
and `dnc-api serve` refusing to start on a configuration they refuse."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from api.settings import ConfigError, Settings
from tests.conftest import TEST_SECRET
from tests.support.processes import Cli, assert_refused
from tests.support.smtp import free_port
from tests.support.tokens import ec_pems, rsa_pems


def test_hmac_secret_shorter_than_32_bytes_is_refused() -> None:
    with pytest.raises(ConfigError, match="JWT_SECRET"):
        Settings(jwt_secret="s" * 31).check()
    with pytest.raises(ConfigError, match="JWT_SECRET"):
        Settings.from_env({"JWT_SECRET": "s" * 31})
    with pytest.raises(ConfigError, match="JWT_SECRET"):
        Settings.from_env({"JWT_SECRET": "é" * 15})  # 15 characters, 30 bytes


def test_hmac_secret_of_32_bytes_is_accepted() -> None:
    assert Settings.from_env({"JWT_SECRET": "é" * 16}).jwt_key == "é" * 16


@pytest.mark.parametrize("algorithms", [None, "HS256", "RS256,HS256", "RS256,HS512"])
def test_public_key_with_hmac_algorithm_is_refused(
    rsa_keys: tuple[str, str], algorithms: str | None
) -> None:
    env = {"JWT_PUBLIC_KEY": rsa_keys[1]}
    if algorithms is not None:
        env["JWT_ALGORITHMS"] = algorithms

    with pytest.raises(ConfigError, match="JWT_PUBLIC_KEY"):
        Settings.from_env(env)


def test_public_key_with_rs256_is_accepted(rsa_keys: tuple[str, str]) -> None:
    """A PEM written on one line with literal \\n, as environment files do."""
    one_line = rsa_keys[1].strip().replace("\n", "\\n")

    settings = Settings.from_env({"JWT_PUBLIC_KEY": one_line, "JWT_ALGORITHMS": "RS256"})

    assert settings.jwt_key == rsa_keys[1].strip()
    assert settings.jwt_algorithms == ("RS256",)


def test_production_without_a_key_is_refused() -> None:
    with pytest.raises(ConfigError, match="production"):
        Settings.from_env({"APP_ENV": "production"})


def test_production_turns_developer_features_off() -> None:
    development = Settings.from_env({"JWT_SECRET": TEST_SECRET})
    production = Settings.from_env({"APP_ENV": "production", "JWT_SECRET": TEST_SECRET})

    features = ("graphiql", "introspection", "field_suggestions")
    assert [getattr(development, name) for name in features] == [True, True, True]
    assert [getattr(production, name) for name in features] == [False, False, False]


@pytest.mark.parametrize(
    ("variable", "feature"),
    [
        ("GRAPHIQL", "graphiql"),
        ("INTROSPECTION", "introspection"),
        ("FIELD_SUGGESTIONS", "field_suggestions"),
    ],
)
def test_production_feature_switched_back_on(variable: str, feature: str) -> None:
    settings = Settings.from_env(
        {"APP_ENV": "production", "JWT_SECRET": TEST_SECRET, variable: "true"}
    )

    features = {"graphiql", "introspection", "field_suggestions"}
    assert getattr(settings, feature) is True
    assert [getattr(settings, name) for name in sorted(features - {feature})] == [False, False]


def test_es256_public_key_settings() -> None:
    _, public = ec_pems()

    settings = Settings.from_env({"JWT_PUBLIC_KEY": public, "JWT_ALGORITHMS": "ES256"})

    assert (settings.jwt_key, settings.jwt_algorithms) == (public, ("ES256",))
    for algorithms in ("ES256,HS256", "HS384", "ES256,RS256,HS512"):
        with pytest.raises(ConfigError, match="JWT_PUBLIC_KEY"):
            Settings.from_env({"JWT_PUBLIC_KEY": public, "JWT_ALGORITHMS": algorithms})


# ===============================================================================================
# Start-up refusals: the real `dnc-api serve`
# ===============================================================================================

DNC_API = Path(sys.executable).parent / "dnc-api"


def run_serve(tmp_path: Path, **env: str | None) -> subprocess.CompletedProcess[str]:
    cli = Cli(f"sqlite://{tmp_path / 'dnc.sqlite3'}", tmp_path)
    return subprocess.run(
        [str(DNC_API), "serve", "--port", str(free_port())],
        cwd=tmp_path,
        env=cli.env(**env),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def assert_nothing_started(tmp_path: Path, result: subprocess.CompletedProcess[str]) -> None:
    assert "GraphiQL" not in result.stdout, result.stdout
    assert not (tmp_path / "dnc.sqlite3").exists()
    assert not (tmp_path / ".dnc-dev-jwt-secret").exists()


def test_serve_refuses_a_short_hmac_secret(tmp_path: Path) -> None:
    secret = "é" * 15 + "s"  # 16 characters, 31 bytes
    assert len(secret.encode()) == 31

    result = run_serve(tmp_path, JWT_SECRET=secret)

    assert_refused(result, "JWT_SECRET", "32 bytes")
    assert secret not in result.stderr
    assert_nothing_started(tmp_path, result)


@pytest.mark.parametrize(
    ("family", "algorithms"),
    [("rsa", None), ("ec", "ES256,HS512")],
    ids=["rsa-default-algorithms", "ec-with-hs512"],
)
def test_serve_refuses_a_public_key_with_hmac_algorithms(
    tmp_path: Path, family: str, algorithms: str | None
) -> None:
    _, public = rsa_pems() if family == "rsa" else ec_pems()

    result = run_serve(tmp_path, JWT_SECRET=None, JWT_PUBLIC_KEY=public, JWT_ALGORITHMS=algorithms)

    assert_refused(result, "JWT_PUBLIC_KEY", "HS")
    assert_nothing_started(tmp_path, result)
