"""Configuration, read once from the environment."""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, replace
from pathlib import Path

DEV_SECRET_FILE = ".dnc-dev-jwt-secret"  # noqa: S105 (a file name, not a secret)
HMAC_ALGORITHMS = frozenset({"HS256", "HS384", "HS512"})
ASYMMETRIC_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "ES256", "ES384", "ES512", "PS256", "PS384", "PS512"}
)
MIN_HMAC_SECRET_BYTES = 32


_POSITIVE = (
    "smtp_concurrency",
    "max_query_depth",
    "max_query_aliases",
    "max_query_tokens",
    "max_body_bytes",
    "request_timeout_seconds",
    "ws_init_timeout_seconds",
    "ws_max_subscriptions",
    "ws_max_connections_per_user",
    "ws_recheck_seconds",
)


class ConfigError(ValueError):
    """The configuration cannot be used; the message says which variable and why."""


def _flag(env: dict[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ConfigError(f"{name} must be true or false, not {raw!r}")


def _int(env: dict[str, str], name: str, default: int) -> int:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a whole number, not {raw!r}") from None


def _seconds(env: dict[str, str], name: str, default: float) -> float:
    raw = env.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number of seconds, not {raw!r}") from None


def _list(env: dict[str, str], name: str, default: str = "") -> tuple[str, ...]:
    return tuple(item.strip() for item in env.get(name, default).split(",") if item.strip())


@dataclass(frozen=True)
class Settings:
    database_url: str = "sqlite://dnc.sqlite3"
    app_env: str = "development"
    jwt_secret: str | None = None
    jwt_public_key: str | None = None
    jwt_algorithms: tuple[str, ...] = ("HS256",)
    jwt_audience: str | None = None
    jwt_issuer: str | None = None
    graphiql: bool = True
    introspection: bool = True
    field_suggestions: bool = True
    cors_origins: tuple[str, ...] = ()
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_starttls: bool = False
    smtp_ssl: bool = False
    smtp_timeout: int = 10
    smtp_concurrency: int = 4
    mail_from: str = "dnc@localhost"
    outbox_poll_seconds: float = 5.0
    outbox_lease_seconds: int = 120
    outbox_retry_base_seconds: float = 5.0
    db_pool_size: int = 10
    # Abuse limits (OWASP GraphQL cheat sheet; GraphQL Armor's defaults or stricter).
    max_query_depth: int = 10
    max_query_aliases: int = 15
    max_query_tokens: int = 2000
    max_body_bytes: int = 2 * 1024 * 1024
    request_timeout_seconds: float = 15.0
    ws_init_timeout_seconds: float = 10.0
    ws_max_subscriptions: int = 20
    ws_max_connections_per_user: int = 10
    ws_recheck_seconds: float = 5.0
    # The execution short path (api/graphql/engine); false runs stock strawberry.
    graphql_fast_path: bool = True

    @property
    def is_production(self) -> bool:
        return self.app_env == "production"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite:")

    @property
    def jwt_key(self) -> str | None:
        """The key that verifies tokens: the public key when one is set, else the secret."""
        return self.jwt_public_key or self.jwt_secret

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Settings:
        env = dict(os.environ if env is None else env)
        app_env = env.get("APP_ENV", "development").strip().lower() or "development"
        if app_env not in {"development", "production"}:
            raise ConfigError(f"APP_ENV must be development or production, not {app_env!r}")
        production = app_env == "production"
        public_key = env.get("JWT_PUBLIC_KEY") or None
        secret = env.get("JWT_SECRET") or None
        algorithms = _list(env, "JWT_ALGORITHMS", "HS256")
        settings = cls(
            database_url=env.get("DATABASE_URL") or "sqlite://dnc.sqlite3",
            app_env=app_env,
            jwt_secret=secret,
            jwt_public_key=public_key.replace("\\n", "\n") if public_key else None,
            jwt_algorithms=algorithms,
            jwt_audience=env.get("JWT_AUDIENCE") or None,
            jwt_issuer=env.get("JWT_ISSUER") or None,
            graphiql=_flag(env, "GRAPHIQL", not production),
            introspection=_flag(env, "INTROSPECTION", not production),
            field_suggestions=_flag(env, "FIELD_SUGGESTIONS", not production),
            cors_origins=_list(env, "CORS_ORIGINS"),
            smtp_host=env.get("SMTP_HOST") or None,
            smtp_port=_int(env, "SMTP_PORT", 25),
            smtp_username=env.get("SMTP_USERNAME") or None,
            smtp_password=env.get("SMTP_PASSWORD") or None,
            smtp_starttls=_flag(env, "SMTP_STARTTLS", False),
            smtp_ssl=_flag(env, "SMTP_SSL", False),
            smtp_timeout=_int(env, "SMTP_TIMEOUT", 10),
            smtp_concurrency=_int(env, "SMTP_CONCURRENCY", 4),
            mail_from=env.get("MAIL_FROM") or "dnc@localhost",
            outbox_poll_seconds=float(_int(env, "OUTBOX_POLL_SECONDS", 5)),
            outbox_lease_seconds=_int(env, "OUTBOX_LEASE_SECONDS", 120),
            outbox_retry_base_seconds=float(_int(env, "OUTBOX_RETRY_BASE_SECONDS", 5)),
            db_pool_size=_int(env, "DB_POOL_SIZE", 10),
            max_query_depth=_int(env, "MAX_QUERY_DEPTH", 10),
            max_query_aliases=_int(env, "MAX_QUERY_ALIASES", 15),
            max_query_tokens=_int(env, "MAX_QUERY_TOKENS", 2000),
            max_body_bytes=_int(env, "MAX_BODY_BYTES", 2 * 1024 * 1024),
            request_timeout_seconds=_seconds(env, "REQUEST_TIMEOUT_SECONDS", 15.0),
            ws_init_timeout_seconds=_seconds(env, "WS_INIT_TIMEOUT_SECONDS", 10.0),
            ws_max_subscriptions=_int(env, "WS_MAX_SUBSCRIPTIONS", 20),
            ws_max_connections_per_user=_int(env, "WS_MAX_CONNECTIONS_PER_USER", 10),
            ws_recheck_seconds=_seconds(env, "WS_RECHECK_SECONDS", 5.0),
            graphql_fast_path=_flag(env, "GRAPHQL_FAST_PATH", True),
        )
        settings.check()
        return settings

    def check(self) -> None:
        """Refuse settings that would run insecurely or not at all."""
        if not self.jwt_algorithms:
            raise ConfigError("JWT_ALGORITHMS must name at least one algorithm")
        unknown = set(self.jwt_algorithms) - HMAC_ALGORITHMS - ASYMMETRIC_ALGORITHMS
        if unknown:
            raise ConfigError(f"JWT_ALGORITHMS has unsupported algorithms: {sorted(unknown)}")
        hmac = set(self.jwt_algorithms) & HMAC_ALGORITHMS
        if self.jwt_public_key and hmac:
            # A public key must never double as an HMAC secret (algorithm confusion).
            raise ConfigError("JWT_PUBLIC_KEY is set: JWT_ALGORITHMS must not include HS*")
        if not self.jwt_public_key and not hmac:
            raise ConfigError("RS*/ES* algorithms need JWT_PUBLIC_KEY")
        if hmac and self.jwt_secret and len(self.jwt_secret.encode()) < MIN_HMAC_SECRET_BYTES:
            raise ConfigError(f"JWT_SECRET must be at least {MIN_HMAC_SECRET_BYTES} bytes")
        if self.smtp_ssl and self.smtp_starttls:
            raise ConfigError("SMTP_SSL and SMTP_STARTTLS are mutually exclusive")
        if not self.database_url.startswith(("sqlite:", "postgres:", "postgresql:", "asyncpg:")):
            raise ConfigError("DATABASE_URL must start with sqlite:// or postgres://")
        for name in _POSITIVE:
            if getattr(self, name) <= 0:
                raise ConfigError(f"{name.upper()} must be greater than zero")
        if self.is_production and not self.jwt_key:
            raise ConfigError("APP_ENV=production needs JWT_SECRET or JWT_PUBLIC_KEY")

    def with_dev_secret(self, folder: Path | None = None) -> Settings:
        """In development without a key, use (and keep) a random secret in the working folder.

        `dnc-api demo`, `dnc-api token` and `dnc-api serve` then agree on it across runs.
        """
        if self.jwt_key or self.is_production:
            return self
        path = (folder or Path.cwd()) / DEV_SECRET_FILE
        if not path.exists():
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w") as file:
                file.write(secrets.token_urlsafe(48))
        return replace(self, jwt_secret=path.read_text().strip())
