"""The doctor's look at PagerDuty: which credential, its scopes per feature and lifetime, what it may read.

A Scoped OAuth app is asked for a token exactly as the bridge asks (the same scopes), so the report shows what
the worker and the API get: the scopes granted against those needed, feature by feature, and how long the
token lasts. An account API key works, and the report says why an app is the better choice and how to make one.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import httpx

from activities import errors
from activities.pagerduty_api import PagerDutyApi
from activities.pagerduty_auth import OAuthApp, credentials_from
from activities.pagerduty_pace import Pace
from activities.pagerduty_scopes import FEATURES, RUNTIME_SCOPES, features_lacking
from ops.checks import Check, failed, passed
from ops.doctor_webhooks import NAME as WEBHOOK_CHECK
from ops.doctor_webhooks import coverage_lines, webhook_subscription_check
from settings import ConfigError, Settings

CREDENTIAL, SCOPES = "PagerDuty credential", "PagerDuty scopes"
# A syntactically valid address nobody has: the users search must run, its answer does not matter.
PROBE_EMAIL = "doctor-probe@example.invalid"
APP_HOWTO = (
    "In PagerDuty: Integrations → App Registration → New App, tick OAuth 2.0, choose Scoped OAuth, and give it "
    f"these scopes: {' '.join(RUNTIME_SCOPES)}. Register it, then set PAGERDUTY_CLIENT_ID, "
    "PAGERDUTY_CLIENT_SECRET (or PAGERDUTY_CLIENT_SECRET_FILE), PAGERDUTY_SUBDOMAIN (acme for acme.pagerduty.com) "
    "and, for an EU account, PAGERDUTY_REGION=eu.")
PD_TOKEN_FIX = ("Use a Scoped OAuth app (least privilege: " + APP_HOWTO + ") Or create a REST API key "
                "(Integrations → API Access Keys) and set PAGERDUTY_API_TOKEN. For an EU account also set "
                "PAGERDUTY_API_URL=https://api.eu.pagerduty.com.")


def lifetime(seconds: float) -> str:
    seconds = max(int(seconds), 0)
    hours, minutes = divmod(seconds // 60, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min {seconds % 60:02d} s"


def key_check(settings: Settings) -> Check:
    return Check(CREDENTIAL, True, "an account REST API key (PAGERDUTY_API_TOKEN): it can do anything in PagerDuty "
                                   "and never expires", lines=(
        "least privilege: a Scoped OAuth app gets only the scopes the bridge needs and a token that lasts a day,",
        "which the bridge renews by itself. " + APP_HOWTO,
        "Then unset PAGERDUTY_API_TOKEN and revoke the key."))


async def app_checks(app: OAuthApp, settings: Settings) -> tuple[Check, Check | None]:
    """The token, as the bridge would get it, and its scopes against the bridge's features."""
    try:
        grant = await app.fetch("doctor")
    except errors.PagerDutyError as exc:
        fix = (APP_HOWTO if isinstance(exc, errors.PagerDutyAuthError)
               else "Check PAGERDUTY_OAUTH_URL (unset: PagerDuty's own) and that this host can reach it.")
        return failed(CREDENTIAL, f"Scoped OAuth app {settings.pagerduty_client_id}: {exc}", fix), None
    ignored = ("; PAGERDUTY_API_TOKEN is set too and is not used: unset it and revoke the key"
               if settings.pagerduty_api_token is not None else "")
    credential = passed(CREDENTIAL, f"Scoped OAuth app {settings.pagerduty_client_id} ({app.account}): token valid "
                                    f"for {lifetime(grant.remaining())}, renewed by the bridge before it expires"
                                    f"{ignored}")
    lines = []
    for feature in FEATURES:
        lacking = [s for s in feature.scopes if s not in grant.granted]
        mark = "✗" if lacking else "✓"
        scopes = " ".join(f"{s} (missing)" if s in lacking else s for s in feature.scopes)
        lines.append(f"{mark} {feature.name}: {scopes}")
    missing = sorted(grant.missing)
    if not missing:
        return credential, Check(SCOPES, True, f"granted all {len(grant.asked)} scopes the bridge asks for "
                                               f"({' '.join(sorted(grant.asked))})", lines=tuple(lines))
    broken = "; ".join(features_lacking(set(missing)))
    them = "it" if len(missing) == 1 else "them"
    return credential, failed(
        SCOPES, f"the app was not granted {' '.join(missing)}: {broken} will be refused by PagerDuty (403)",
        f"In PagerDuty: Integrations → App Registration → {settings.pagerduty_client_id} → edit the scopes and add "
        f"{' '.join(missing)}. The bridge asks for {them} again by itself at the next refused call (or "
        "restart the worker and the API).", tuple(lines))


async def _probe(name: str, call: Callable[[], Awaitable[object]], url: str, permission: str,
                 ok_detail: str) -> Check:
    try:
        await call()
    except errors.PagerDutyAuthError:
        return failed(name, "PagerDuty rejected PAGERDUTY_API_TOKEN (401): the token is wrong or revoked",
                      PD_TOKEN_FIX)
    except errors.PagerDutyUnavailable as exc:
        return failed(name, f"cannot reach PagerDuty at {url}: {exc}",
                      "Check PAGERDUTY_API_URL and that this host can reach it (proxy, firewall).")
    except errors.PagerDutyScopeMissing as exc:
        return failed(name, f"{exc}", f"Give the app {permission}.")
    except errors.PagerDutyError as exc:
        return failed(name, f"{exc}", f"Give the token {permission} (a Scoped OAuth app needs that scope; a user "
                                      "token's user must be allowed to see these objects).")
    return passed(name, ok_detail)


def webhook_secrets_check(settings: Settings) -> Check:
    count = len(settings.webhook_secrets())
    if count == 0:
        return failed("PagerDuty webhook secrets", "PAGERDUTY_WEBHOOK_SECRETS is empty: every webhook would get 401",
                      "Create the subscription with `python3 dev.py ctl subscribe …` and set PAGERDUTY_WEBHOOK_SECRETS "
                      "to the secret it prints (comma-separated while rotating).")
    rotation = " (more than one: fine while rotating, drop the old one afterwards)" if count > 1 else ""
    return passed("PagerDuty webhook secrets", f"{count} secret(s) configured{rotation}")


async def pagerduty_checks(settings: Settings, webhook_url: str | None = None, timeout: float = 3.0,
                           routed: list[str] | None = None) -> list[Check]:
    secrets = webhook_secrets_check(settings)
    if settings.pagerduty_credential() is None:
        return [failed(CREDENTIAL, "neither a Scoped OAuth app (PAGERDUTY_CLIENT_ID) nor an API key "
                                   "(PAGERDUTY_API_TOKEN) is set", PD_TOKEN_FIX), secrets]
    url = settings.pagerduty_api_url
    async with httpx.AsyncClient(base_url=url, timeout=timeout) as http:
        try:
            credentials = credentials_from(settings, http)
        except ConfigError as exc:
            return [failed(CREDENTIAL, str(exc), APP_HOWTO), secrets]
        api = PagerDutyApi(http, credentials, Pace(60, max_wait=timeout))
        if isinstance(credentials, OAuthApp):
            credential, scopes = await app_checks(credentials, settings)
            if scopes is None:
                return [credential, secrets]
            head = [credential, scopes]
        else:
            head = [key_check(settings), await _probe("PagerDuty API token", api.abilities, url, "abilities.read",
                                                      f"accepted by {url}")]
            if not head[-1].ok:
                return [*head, secrets]
        incidents = await _probe("PagerDuty incidents", lambda: api.list_incidents(1), url, "incidents.read",
                                 "can list incidents (writes, incidents.write, are not tried)")
        users = await _probe("PagerDuty users", lambda: api.find_user_by_email(PROBE_EMAIL), url, "users.read",
                             "can search users by email")
        ok, detail, fix = await webhook_subscription_check(api, webhook_url)
        covers = await coverage_lines(api, webhook_url, routed or []) if ok else ()
        services = await _probe("PagerDuty services", lambda: api.find_services(limit=1), url, "services.read",
                                "can list services (for /pd open, oncall and trigger)")
    return [*head, incidents, users, services, Check(WEBHOOK_CHECK, ok, detail, fix, covers), secrets]
