"""The HTTP API: verify, parse, hand to the incident's workflow, answer. `uvicorn api.app:app`."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

import httpx
from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from slack_sdk.web.async_client import AsyncWebClient
from temporalio.client import Client
from temporalio.service import RPCError

from activities.identity import Directory
from activities.metrics import OLDEST_PENDING
from activities.pagerduty_api import PagerDutyApi
from activities.pagerduty_auth import credentials_from
from activities.pagerduty_pace import Pace
from api import commands, options, routes
from api.command_handlers import Commands
from api.gateway import TemporalGateway, TemporalUnavailable
from api.webhook_gauge import refresh_webhook_gauge
from settings import BridgeConfig, ConfigError, Settings, load_config
from workflows.models import ChannelPolicy, Timing

log = logging.getLogger("bridge.api")
# A deploy (SIGTERM) lets answers still on their way to people finish for this long; uvicorn has closed
# its connections by then, so nothing new arrives meanwhile.
ANSWERS_GRACE = 15.0


@dataclass
class ApiContext:
    settings: Settings
    config: BridgeConfig
    gateway: TemporalGateway
    slack: AsyncWebClient
    clock: Callable[[], float] = time.time
    pending_scanned_at: float = 0.0
    commands: Commands | None = None  # None without a PagerDuty API token: /pd then says so
    # Read once at start-up, not per request: the config does not change while the API runs.
    timing: Timing = field(default_factory=Timing)
    channels: ChannelPolicy = field(default_factory=ChannelPolicy)
    webhook_secrets: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        self.timing = Timing.model_validate(self.config.timing.model_dump())
        self.channels = ChannelPolicy.model_validate(self.config.channels.model_dump())
        self.webhook_secrets = tuple(self.settings.webhook_secrets())


def create_app(settings: Settings | None = None, config: BridgeConfig | None = None,
               client: Client | None = None, clock: Callable[[], float] = time.time) -> FastAPI:
    """Build the app; settings and config load when it starts, not at import."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        try:
            env = settings or Settings()
            cfg = config or load_config(env.bridge_config)
            token = env.secret("slack_bot_token")
            env.secret("slack_signing_secret")  # every interaction needs it: refuse to start without it
            if env.pagerduty_credential() == "oauth_app" and (problem := env.oauth_app_problem()):
                raise ConfigError(problem)
        except (ConfigError, ValueError) as exc:
            log.error("API cannot start: %s", exc)
            raise
        if not env.webhook_secrets():
            log.error("PAGERDUTY_WEBHOOK_SECRETS is empty: every PagerDuty webhook will be rejected with 401")
        gateway = TemporalGateway(env, client)
        slack = AsyncWebClient(token=token, base_url=env.slack_api_url, timeout=2)
        app.state.ctx = ApiContext(settings=env, config=cfg, gateway=gateway, slack=slack, clock=clock)
        try:
            await gateway.connect(quiet=True)
        except TemporalUnavailable as exc:
            # Serve anyway: /readyz says why, and webhooks get 503 so PagerDuty retries until Temporal is back.
            log.error("API started without Temporal: %s", exc)
        log.info("API ready (Temporal %s)", "connected" if gateway.connected else "not reachable yet")
        async with httpx.AsyncClient(base_url=env.pagerduty_api_url, timeout=8) as http:
            app.state.ctx.commands = _commands(env, cfg, http, slack, gateway, app.state.ctx.timing)
            yield
            await routes.finish_background(ANSWERS_GRACE)

    app = FastAPI(title="PagerDuty ↔ Slack bridge", lifespan=lifespan)
    app.include_router(routes.router)
    app.include_router(commands.router)
    app.include_router(options.router)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "alive"}

    @app.get("/readyz")
    async def readyz(request: Request) -> Response:
        gateway: TemporalGateway = request.app.state.ctx.gateway
        problem = await gateway.check()
        if problem:
            return JSONResponse({"status": "not ready", "temporal": problem}, status_code=503)
        return JSONResponse({"status": "ready", "temporal": "reachable"})

    @app.get("/metrics")
    async def metrics(request: Request) -> Response:
        ctx: ApiContext = request.app.state.ctx
        await _refresh_pending_gauge(ctx)
        return PlainTextResponse(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return app


def _commands(env: Settings, cfg: BridgeConfig, http: httpx.AsyncClient, slack: AsyncWebClient,
              gateway: TemporalGateway, timing: Timing) -> Commands | None:
    """The `/pd` handlers; an answer slower than 2 s follows through the response_url (up to the 8 s timeout)."""
    if env.pagerduty_credential() is None:
        log.warning("neither PAGERDUTY_CLIENT_ID nor PAGERDUTY_API_TOKEN is set: /pd will answer that it cannot "
                    "reach PagerDuty")
        return None
    pd = PagerDutyApi(http, credentials_from(env, http), Pace(cfg.pagerduty.api_requests_per_minute))
    return Commands(pd=pd, directory=Directory(pd, slack, cfg), config=cfg, slack=slack, gateway=gateway,
                    timing=timing, channels=ChannelPolicy.model_validate(cfg.channels.model_dump()))


PENDING_SCAN_EVERY = 15.0


async def _refresh_pending_gauge(ctx: ApiContext) -> None:
    # Scans open incidents through Temporal, so it runs at most every PENDING_SCAN_EVERY seconds.
    if ctx.clock() - ctx.pending_scanned_at < PENDING_SCAN_EVERY:
        return
    ctx.pending_scanned_at = ctx.clock()
    try:
        OLDEST_PENDING.set(await ctx.gateway.oldest_pending_seconds(datetime.now(UTC)))
        await refresh_webhook_gauge(ctx.gateway, ctx.settings.temporal_task_queue)
    except (TemporalUnavailable, RPCError, RuntimeError) as exc:
        log.warning("metrics read from Temporal not refreshed: %s", exc)


app = create_app()
