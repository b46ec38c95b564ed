"""Process settings (environment variables, DESIGN §4) and the bridge's TOML config file.

Nothing here is loaded at import time: the composition roots (`worker.py`, `api/app.py`, `ops/`) call
`Settings()` and `load_config()` and pass the results down.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

PLACEHOLDERS = {"changeme", "changethis", "xoxb-your-token", "your-token"}
# Each may also be given as `<NAME>_FILE`, the path of a file holding it (Docker and Kubernetes secrets).
SECRET_FIELDS = ("slack_bot_token", "slack_signing_secret", "pagerduty_api_token", "pagerduty_client_secret",
                 "pagerduty_webhook_secrets")
PAGERDUTY_TOKEN_URL = "https://identity.pagerduty.com/oauth/token"


class SecretFiles(PydanticBaseSettingsSource):
    """`SLACK_BOT_TOKEN_FILE=/run/secrets/slack_bot_token` and the like: read once, when the settings load."""

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False  # every value comes from __call__

    def __call__(self) -> dict[str, Any]:
        env = {key.upper(): value for key, value in os.environ.items() if value.strip()}
        values: dict[str, Any] = {}
        for name in SECRET_FIELDS:
            plain, file_var = name.upper(), f"{name.upper()}_FILE"
            if file_var not in env:
                continue
            if plain in env:
                raise ConfigError(f"both {plain} and {file_var} are set: set only one of them")
            path = Path(env[file_var].strip())
            try:
                text = path.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ConfigError(f"{file_var}: cannot read {path} ({exc.strerror or exc})") from None
            if not text:
                raise ConfigError(f"{file_var}: {path} is empty")
            # A webhook secrets file may list one secret a line.
            values[name] = ",".join(text.split()) if name == "pagerduty_webhook_secrets" else text
        return values


class Settings(BaseSettings):
    """The environment contract; unset credentials mean sandbox mode for `dev.py run`."""

    model_config = SettingsConfigDict(env_ignore_empty=True, extra="ignore", case_sensitive=False)

    temporal_address: str | None = None
    temporal_namespace: str = "default"
    temporal_task_queue: str = "pd-slack-bridge"
    pagerduty_api_token: SecretStr | None = None
    pagerduty_api_url: str = "https://api.pagerduty.com"
    pagerduty_webhook_secrets: str = ""
    # A Scoped OAuth app (client credentials): used instead of PAGERDUTY_API_TOKEN when its id is set.
    pagerduty_client_id: str | None = None
    pagerduty_client_secret: SecretStr | None = None
    pagerduty_subdomain: str | None = None
    pagerduty_region: Literal["us", "eu"] = "us"
    pagerduty_oauth_url: str = PAGERDUTY_TOKEN_URL
    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api/"
    bridge_config: Path = Path("bridge.toml")

    @classmethod
    def settings_customise_sources(
        cls, settings_cls: type[BaseSettings], init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource, dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return init_settings, SecretFiles(settings_cls), env_settings, dotenv_settings, file_secret_settings

    @field_validator("pagerduty_api_token", "slack_bot_token", "slack_signing_secret", "pagerduty_client_secret")
    @classmethod
    def _no_placeholder(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and value.get_secret_value().strip().lower() in PLACEHOLDERS:
            raise ValueError("is still a placeholder value; set the real credential")
        return value

    @field_validator("pagerduty_region", mode="before")
    @classmethod
    def _region(cls, value: Any) -> Any:
        return value.strip().lower() if isinstance(value, str) else value

    def pagerduty_credential(self) -> Literal["oauth_app", "api_key"] | None:
        """Which PagerDuty credential the bridge uses: the app when PAGERDUTY_CLIENT_ID is set, else the key."""
        if self.pagerduty_client_id:
            return "oauth_app"
        return "api_key" if self.pagerduty_api_token is not None else None

    def oauth_app_problem(self) -> str | None:
        """What is missing for the Scoped OAuth app, naming the variables; None when it is complete."""
        missing = [var for var, value in (("PAGERDUTY_CLIENT_SECRET", self.pagerduty_client_secret),
                                          ("PAGERDUTY_SUBDOMAIN", self.pagerduty_subdomain)) if not value]
        if missing:
            return (f"PAGERDUTY_CLIENT_ID is set but {' and '.join(missing)} "
                    f"{'is' if len(missing) == 1 else 'are'} not (a Scoped OAuth app needs all three)")
        return None

    def webhook_secrets(self) -> list[str]:
        return [s.strip() for s in self.pagerduty_webhook_secrets.split(",") if s.strip()]

    def secret(self, name: str) -> str:
        value = getattr(self, name)
        if value is None:
            raise ConfigError(f"environment variable {name.upper()} is not set")
        return str(value.get_secret_value())


class ConfigError(Exception):
    """The configuration is unusable; the message names the key or variable to fix."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Routing(_Strict):
    default_channel: str
    services: dict[str, str] = Field(default_factory=dict)

    @field_validator("default_channel")
    @classmethod
    def _channel_id(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must be a Slack channel id such as C0123456")
        return value


class Identity(_Strict):
    slack_to_pagerduty: dict[str, str] = Field(default_factory=dict)

    def pagerduty_to_slack(self) -> dict[str, str]:
        return {pd: slack for slack, pd in self.slack_to_pagerduty.items()}


class Authorization(_Strict):
    admin_slack_users: list[str] = Field(default_factory=list)
    allow_incidents_without_team: bool = True


class Timing(_Strict):
    action_deadline_seconds: int = Field(default=180, gt=0)
    confirmation_deadline_seconds: int = Field(default=120, gt=0)
    linger_after_resolve_seconds: int = Field(default=86400, ge=0)
    reconcile_interval_seconds: int = Field(default=900, gt=0)
    sweep_interval_seconds: int = Field(default=300, gt=0)
    # On-call user groups follow each shift change by a timer; this re-read catches overrides made in PagerDuty.
    oncall_recheck_seconds: int = Field(default=300, gt=0)


class PagerDuty(_Strict):
    # The bridge's public webhook URL, to find its subscription among the account's; unset: any
    # subscription whose URL ends with /pagerduty/webhooks is taken for the bridge's.
    webhook_url: str | None = None
    # Each process's share of PagerDuty's rate limit (960 requests a minute per account for an app or a key):
    # each worker's and each API replica's. The compose file's two workers and one API take 720 together,
    # leaving room for the doctor and ctl.
    requests_per_minute: int = Field(default=300, gt=0, le=960)
    api_requests_per_minute: int = Field(default=120, gt=0, le=960)


class SlackPacing(_Strict):
    """The shared Slack budget (below Slack's own limits, so Slack almost never answers 429)."""

    posts_per_second: float = Field(default=1.0, gt=0, le=10)  # per channel: root posts and thread replies
    post_burst: int = Field(default=2, ge=1, le=20)
    updates_per_minute: float = Field(default=40, gt=0, le=600)  # chat.update, per workspace (Tier 3)
    update_burst: int = Field(default=2, ge=1, le=50)
    storm_threshold: int = Field(default=10, ge=1)  # new incidents waiting in one channel before a notice


class Channels(_Strict):
    """The incident channel convention: when an incident gets a Slack channel of its own."""

    # never: no channel control; on_demand: a "Create channel" control; high_urgency: created at trigger
    # for high-urgency incidents (on demand for the rest); always: created at trigger for every incident.
    dedicated: Literal["never", "on_demand", "high_urgency", "always"] = "on_demand"
    name_template: str = "inc-{number}-{slug}"
    private: bool = False
    archive_after_resolve_hours: float = Field(default=0, ge=0, le=24 * 365)  # 0: never archive

    @field_validator("name_template")
    @classmethod
    def _template(cls, value: str) -> str:
        try:
            value.format(number=1, slug="x", id="P1", service="s")
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(f"may use only {{number}}, {{slug}}, {{id}} and {{service}} ({exc!s})") from None
        if not any(f"{{{key}}}" in value for key in ("number", "id")):
            raise ValueError("must contain {number} or {id}, so each incident gets a channel name of its own")
        return value


class OncallGroup(_Strict):
    """Who a Slack user group stands for: a schedule's on-call, or one level of an escalation policy."""

    schedule: str | None = None
    escalation_policy: str | None = None
    level: int = Field(default=1, ge=1)

    @model_validator(mode="after")
    def _one_source(self) -> OncallGroup:
        if (self.schedule is None) == (self.escalation_policy is None):
            raise ValueError("give either schedule or escalation_policy (with level), not both or neither")
        return self


class Notifications(_Strict):
    """`[notifications]`: direct messages to the people an incident is assigned to."""

    # "off": none; "opt_in": only people who said `/pd notify on`; "on": everyone but who said `/pd notify off`.
    direct_messages: Literal["off", "opt_in", "on"] = "opt_in"


class BridgeConfig(_Strict):
    routing: Routing
    identity: Identity = Field(default_factory=Identity)
    authorization: Authorization = Field(default_factory=Authorization)
    timing: Timing = Field(default_factory=Timing)
    slack: SlackPacing = Field(default_factory=SlackPacing)
    pagerduty: PagerDuty = Field(default_factory=PagerDuty)
    channels: Channels = Field(default_factory=Channels)
    oncall_groups: dict[str, OncallGroup] = Field(default_factory=dict)  # Slack user group handle -> source
    notifications: Notifications = Field(default_factory=Notifications)

    @field_validator("oncall_groups")
    @classmethod
    def _handles(cls, value: dict[str, OncallGroup]) -> dict[str, OncallGroup]:
        for handle in value:
            if not handle.strip() or handle.startswith("@") or " " in handle:
                raise ValueError(f"{handle!r}: use the group's handle without '@' (e.g. payments-oncall)")
        return value

    def channel_for(self, service_id: str | None) -> str:
        if service_id and service_id in self.routing.services:
            return self.routing.services[service_id]
        return self.routing.default_channel


def _key_path(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc)


def parse_config(data: dict[str, Any], source: str = "config") -> BridgeConfig:
    try:
        return BridgeConfig.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{_key_path(err['loc'])}: {err['msg']}" for err in exc.errors())
        raise ConfigError(f"{source}: invalid configuration: {problems}") from None


def load_config(path: Path) -> BridgeConfig:
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"config file {path} not found (set BRIDGE_CONFIG to its path)") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    return parse_config(data, str(path))
