"""The HTTP API: verify, parse, hand to the incident's workflow, answer. `uvicorn api.app:app`."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from slack_sdk.web.async_client import AsyncWebClient
from temporalio.client import Client

from api import routes
from api.gateway import TemporalGateway
from settings import BridgeConfig, Settings, load_config

log = logging.getLogger("bridge.api")


@dataclass
class ApiContext:
    settings: Settings
    config: BridgeConfig
    gateway: TemporalGateway
    slack: AsyncWebClient
    clock: Callable[[], float] = time.time
    extra: dict[str, object] = field(default_factory=dict)


def create_app(settings: Settings | None = None, config: BridgeConfig | None = None,
               client: Client | None = None, clock: Callable[[], float] = time.time) -> FastAPI:
    """Build the app; settings and config load when it starts, not at import."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        env = settings or Settings()
        cfg = config or load_config(env.bridge_config)
        gateway = TemporalGateway(env, client)
        slack = AsyncWebClient(token=env.secret("slack_bot_token"), base_url=env.slack_api_url, timeout=2)
        app.state.ctx = ApiContext(settings=env, config=cfg, gateway=gateway, slack=slack, clock=clock)
        await gateway.connect(quiet=True)
        log.info("API ready (Temporal %s)", "connected" if gateway.connected else "not reachable yet")
        yield

    app = FastAPI(title="PagerDuty ↔ Slack bridge", lifespan=lifespan)
    app.include_router(routes.router)

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
    async def metrics() -> Response:
        return PlainTextResponse(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return app


app = create_app()
