"""Settings: the only module that reads the environment.

Everything else receives a frozen :class:`Settings`. With no variables set warmrun runs on
embedded defaults: a SQLite file and a private ``redis-server`` inside ``WARMRUN_HOME``.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

from starlette.config import Config
from starlette.datastructures import Secret

MiB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """Caps that keep hostile or runaway files from exhausting the machine."""

    upload_bytes: int = 25 * MiB
    decompressed_bytes: int = 100 * MiB
    points: int = 200_000
    xml_depth: int = 64
    xml_namespaces: int = 64
    # Activity files in one upload request, counted across archives nested in archives, every
    # member counted (zero-byte ones and READMEs too: each costs a look).
    activities: int = 500
    # Activities a resident may store per rolling 24 hours (a year's export fits in two days).
    uploads_per_day: int = 200


@dataclass(frozen=True)
class Sandbox:
    """Worker processes that parse files from outside, and what one file may cost in them.

    A file over its CPU time (RLIMIT_CPU), address space (RLIMIT_AS) or wall deadline is
    stopped: its worker is killed and replaced, and the file is refused as too complex.
    """

    workers: int = 2
    cpu_s: float = 2.0
    wall_s: float = 10.0
    memory_bytes: int = 1024 * MiB


@dataclass(frozen=True)
class StripeSettings:
    """A charity partner's Stripe account. Webhook secrets: the current one first; during a
    secret rollover the old one is listed too and both are accepted."""

    secret_key: Secret
    webhook_secrets: tuple[str, ...]
    api_base: str = "https://api.stripe.com"
    timeout_s: float = 10.0
    network_retries: int = 2
    # A webhook's signed timestamp may be this old, or this far ahead of our clock.
    tolerance_s: int = 300
    future_skew_s: int = 60


@dataclass(frozen=True)
class StravaSettings:
    """The Strava API application. Tokens are encrypted with ``token_keys`` (Fernet keys,
    newest first, so old tokens still decrypt during a key rotation)."""

    client_id: str
    client_secret: Secret
    verify_token: str  # the webhook subscription's hub.verify_token
    token_keys: tuple[str, ...]
    api_base: str = "https://www.strava.com/api/v3"
    oauth_base: str = "https://www.strava.com/oauth"
    timeout_s: float = 10.0
    # Refresh an access token this long before it expires.
    refresh_margin_s: int = 600
    # Keep this many requests of each rate-limit window in reserve.
    rate_margin: int = 5


# Values that have stood in docs, examples or tests: never good enough to serve the public with.
DEVELOPMENT_KEYS = frozenset(
    {"dev-insecure-change-me", "change-me", "changeme", "secret", "test-secret", "development"}
)
MIN_SECRET_KEY = 32
KEY_FILE = "secret_key"


@dataclass(frozen=True)
class Settings:
    home: Path
    database_url: str
    # None: a private redis-server inside ``home`` (the embedded default).
    redis_url: str | None
    secret_key: Secret
    # True: no WARMRUN_SECRET_KEY was given; the key is the random one kept in WARMRUN_HOME.
    key_generated: bool = False
    timezone: str = "Asia/Shanghai"
    limits: Limits = field(default_factory=Limits)
    sandbox: Sandbox = field(default_factory=Sandbox)
    debug: bool = False
    # Session cookies are Secure: browsers send them over HTTPS and to localhost only. Set
    # WARMRUN_COOKIE_SECURE=false only for a plain-HTTP trial on a LAN address.
    secure_cookies: bool = True
    # Online payments (donations, sponsor pledges); None: the site takes no payments.
    stripe: StripeSettings | None = None
    # The address residents reach the site at, for links the payment provider sends them back
    # to; None: the address of the request.
    public_url: str | None = None
    # Strava sync (optional source of runs); None: not offered.
    strava: StravaSettings | None = None
    # Run queued jobs (Strava sync) inside the web app; `warmrun worker` runs them otherwise.
    app_runs_jobs: bool = True
    # How long a personal API token works (WARMRUN_TOKEN_DAYS).
    token_days: int = 90
    # /metrics answers a loopback client that came through no proxy, or a request that sends
    # "Authorization: Bearer <this>" (WARMRUN_METRICS_TOKEN); None: loopback clients only.
    metrics_token: Secret | None = None
    # Where the processes of `warmrun serve --workers N` keep their metric values for /metrics
    # to add up (PROMETHEUS_MULTIPROC_DIR; prometheus-client reads it too, at import). None:
    # each process counts in memory, which is right for one process only.
    metrics_dir: Path | None = None
    # Log records as one JSON object per line ("json") or as plain text ("text") for reading
    # by eye (WARMRUN_LOG_FORMAT).
    log_format: str = "json"
    # ``redis_url`` names one node of a Redis Cluster (WARMRUN_REDIS_CLUSTER): boards, the relay
    # and rate limits use redis-py's cluster client, the job queue a Redis of its own.
    redis_cluster: bool = False
    # The job queue's Redis (WARMRUN_QUEUE_REDIS_URL): arq and Strava's shared counters and locks
    # need a single server. None: the main Redis, which then must not be a cluster.
    queue_redis_url: str | None = None

    @property
    def token_lifetime(self) -> timedelta:
        return timedelta(days=self.token_days)

    @property
    def embedded_redis_socket(self) -> Path:
        return self.home / "redis.sock"

    @property
    def uses_embedded_redis(self) -> bool:
        return self.redis_url is None


LOG_FORMATS = ("json", "text")


def _log_format(value: str) -> str:
    if value not in LOG_FORMATS:
        raise ValueError(f"not one of {', '.join(LOG_FORMATS)}")
    return value


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Read settings from ``environ`` (default: the process environment)."""
    env = dict(os.environ if environ is None else environ)
    config = Config(environ=env)
    home = Path(config("WARMRUN_HOME", default=".warmrun")).resolve()
    database_url = config("DATABASE_URL", default=f"sqlite://{home / 'warmrun.sqlite3'}")
    redis_url = config("REDIS_URL", default=None)
    redis_cluster = config("WARMRUN_REDIS_CLUSTER", cast=bool, default=False)
    queue_redis_url = config("WARMRUN_QUEUE_REDIS_URL", default=None)
    given = config("WARMRUN_SECRET_KEY", default=None)
    secret = Secret(str(given)) if given else Secret(home_secret_key(home))
    metrics_token = config("WARMRUN_METRICS_TOKEN", default=None)
    metrics_dir = config("PROMETHEUS_MULTIPROC_DIR", default=None)
    settings = Settings(
        home=home,
        limits=Limits(
            uploads_per_day=config(
                "WARMRUN_UPLOADS_PER_DAY", cast=int, default=Limits.uploads_per_day
            ),
            activities=config("WARMRUN_UPLOAD_ACTIVITIES", cast=int, default=Limits.activities),
        ),
        sandbox=_sandbox(config),
        database_url=database_url,
        redis_url=redis_url,
        secret_key=secret,
        key_generated=not given,
        timezone=config("WARMRUN_TIMEZONE", default="Asia/Shanghai"),
        debug=config("WARMRUN_DEBUG", cast=bool, default=False),
        secure_cookies=config("WARMRUN_COOKIE_SECURE", cast=bool, default=True),
        stripe=_stripe(config),
        strava=_strava(config),
        app_runs_jobs=config("WARMRUN_APP_RUNS_JOBS", cast=bool, default=True),
        token_days=config("WARMRUN_TOKEN_DAYS", cast=int, default=90),
        public_url=config("WARMRUN_PUBLIC_URL", default=None),
        metrics_token=Secret(str(metrics_token)) if metrics_token else None,
        metrics_dir=Path(str(metrics_dir)).resolve() if metrics_dir else None,
        log_format=config("WARMRUN_LOG_FORMAT", cast=_log_format, default="json"),
        redis_cluster=redis_cluster,
        queue_redis_url=queue_redis_url or None,
    )
    problem = redis_problem(settings)
    if problem is not None:
        raise ValueError(problem)
    return settings


def _sandbox(config: Config) -> Sandbox:
    return Sandbox(
        workers=config("WARMRUN_PARSE_WORKERS", cast=int, default=Sandbox.workers),
        cpu_s=config("WARMRUN_PARSE_CPU_S", cast=float, default=Sandbox.cpu_s),
        wall_s=config("WARMRUN_PARSE_WALL_S", cast=float, default=Sandbox.wall_s),
        memory_bytes=config("WARMRUN_PARSE_MEMORY_MIB", cast=int, default=1024) * MiB,
    )


def _stripe(config: Config) -> StripeSettings | None:
    """Stripe, when STRIPE_SECRET_KEY is set."""
    stripe_key = config("STRIPE_SECRET_KEY", default=None)
    if not stripe_key:
        return None
    return StripeSettings(
        secret_key=Secret(str(stripe_key)),
        webhook_secrets=tuple(
            s.strip()
            for s in str(config("STRIPE_WEBHOOK_SECRETS", default="")).split(",")
            if s.strip()
        ),
        api_base=str(config("STRIPE_API_BASE", default="https://api.stripe.com")),
    )


def _strava(config: Config) -> StravaSettings | None:
    """Strava, when STRAVA_CLIENT_ID is set."""
    strava_id = config("STRAVA_CLIENT_ID", default=None)
    if not strava_id:
        return None
    return StravaSettings(
        client_id=str(strava_id),
        client_secret=Secret(str(config("STRAVA_CLIENT_SECRET", default=""))),
        verify_token=str(config("STRAVA_VERIFY_TOKEN", default="")),
        token_keys=tuple(
            k.strip() for k in str(config("STRAVA_TOKEN_KEYS", default="")).split(",") if k.strip()
        ),
        api_base=str(config("STRAVA_API_BASE", default="https://www.strava.com/api/v3")),
        oauth_base=str(config("STRAVA_OAUTH_BASE", default="https://www.strava.com/oauth")),
    )


def redis_problem(settings: Settings) -> str | None:
    """Why these Redis settings cannot work, or None."""
    if not settings.redis_cluster:
        return None
    if settings.redis_url is None:
        return "WARMRUN_REDIS_CLUSTER needs REDIS_URL: the address of one node of the cluster"
    if settings.strava is not None and settings.queue_redis_url is None:
        return (
            "WARMRUN_REDIS_CLUSTER with Strava needs WARMRUN_QUEUE_REDIS_URL: the job queue "
            "(arq) runs on a single Redis server, not on a cluster"
        )
    return None


def home_secret_key(home: Path) -> str:
    """The key kept in ``home`` (created on first use: 64 random bytes, readable by the owner
    only), so that a trial on the embedded defaults needs no set-up and its sessions survive a
    restart. Every process of one install reads the same file."""
    path = home / KEY_FILE
    home.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        key = path.read_text().strip()
        if len(key) >= MIN_SECRET_KEY:
            os.chmod(path, 0o600)
            return key
        path.unlink()  # empty or cut short (a crash while writing it): make a new one
        return home_secret_key(home)
    with os.fdopen(fd, "w") as f:
        key = secrets.token_urlsafe(64)
        f.write(key + "\n")
    return key


def serving_problem(settings: Settings, host: str) -> str | None:
    """Why these settings must not serve on ``host``, or None. Off the loopback address the
    key must come from the environment (every process and machine of the site shares it) and
    be neither a development value nor short."""
    if host in ("127.0.0.1", "localhost", "::1") or host.startswith("127."):
        return None
    if settings.key_generated:
        return "WARMRUN_SECRET_KEY is not set: a public address needs a key of its own"
    key = str(settings.secret_key)
    if key in DEVELOPMENT_KEYS or len(key) < MIN_SECRET_KEY:
        return (
            f"WARMRUN_SECRET_KEY is a development value or shorter than {MIN_SECRET_KEY} characters"
        )
    return None


def share_redis_with_workers(url: str) -> None:
    """Hand the parent's Redis URL to the worker processes of ``warmrun serve --workers``:
    they read their settings from the environment they inherit."""
    os.environ["REDIS_URL"] = url


def share_metrics_dir_with_workers(path: Path) -> None:
    """Hand the metrics directory to the worker processes of ``warmrun serve --workers``:
    prometheus-client reads it from their environment when they import it."""
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(path)


def suite_database_url(environ: Mapping[str, str] | None = None) -> str | None:
    """The PostgreSQL URL the test suite should use, if any (``WARMRUN_TEST_DATABASE_URL``)."""
    env = dict(os.environ if environ is None else environ)
    value = Config(environ=env)("WARMRUN_TEST_DATABASE_URL", default=None)
    return str(value) if value else None


def running_in_ci(environ: Mapping[str, str] | None = None) -> bool:
    env = dict(os.environ if environ is None else environ)
    return str(Config(environ=env)("CI", default="")).lower() in {"1", "true", "yes"}
