"""Static checks of the deployment files: compose stack, image, Slack manifest, example config.

No Docker here: the compose file is validated against the Compose specification's JSON schema, its wiring is
read from the parsed YAML, and the inline shell of the two one-shot jobs is run against stub Temporal tools.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]  # jsonschema ships no py.typed and the venv has no stubs
import pytest
import yaml

import settings
from workflows.search import ALL_KEYS

REPO = Path(__file__).resolve().parents[2]
SHARED = Path(__file__).resolve().parents[3] / "shared"
COMPOSE_SCHEMA = SHARED / "third_party" / "compose-spec" / "compose-spec.json"
COMPOSE_FILE = REPO / "docker-compose.temporal.yml"

POSTGRES, SCHEMA_JOB, SERVER, SETUP_JOB, UI = (
    "postgresql",
    "temporal-schema",
    "temporal",
    "temporal-setup",
    "temporal-ui",
)
WORKER, API = "bridge-worker", "bridge-api"
BRIDGE_SERVICES = (WORKER, API)

CONTRACT_ENV = {
    "TEMPORAL_ADDRESS",
    "TEMPORAL_NAMESPACE",
    "TEMPORAL_TASK_QUEUE",
    "PAGERDUTY_CLIENT_ID",
    "PAGERDUTY_SUBDOMAIN",
    "PAGERDUTY_REGION",
    "PAGERDUTY_API_URL",
    "SLACK_API_URL",
    "BRIDGE_CONFIG",
}
# Required values that are not secret: compose refuses to start without them.
CREDENTIALS = {"PAGERDUTY_CLIENT_ID", "PAGERDUTY_SUBDOMAIN"}
# Secrets reach the bridge as files (Docker secrets), never as environment values.
SECRET_FILES = {"PAGERDUTY_CLIENT_SECRET", "PAGERDUTY_WEBHOOK_SECRETS", "SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET"}
SEARCH_ATTRIBUTES = {
    "PdIncidentId": "Keyword",
    "PdIncidentNumber": "Int",
    "IncidentStatus": "Keyword",
    "PdServiceId": "Keyword",
    "CommandPending": "Bool",
    "IncidentStuck": "Bool",
    "IncidentSummary": "Keyword",
}
SLACK_BOT_SCOPES = {"chat:write", "chat:write.public", "commands", "users:read", "users:read.email", "channels:read",
                    "channels:manage", "groups:write", "groups:read", "usergroups:read", "usergroups:write",
                    "im:write"}
TIMING_KEYS = {
    "action_deadline_seconds",
    "confirmation_deadline_seconds",
    "linger_after_resolve_seconds",
    "reconcile_interval_seconds",
    "sweep_interval_seconds",
}

_DEFAULTED = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::?-([^}]*))?\}")
_SA_TYPES = "Keyword|Int|Bool|Text|Double|Datetime|KeywordList"


# ---------------------------------------------------------------- helpers


def _load_yaml(path: Path) -> dict[str, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict), f"{path.name} must be a YAML mapping"
    return data


def _with_defaults(value: str) -> str:
    """What compose substitutes when `${VAR:-default}` variables are unset (no `$$` handling needed here)."""
    return _DEFAULTED.sub(lambda m: m.group(2) or "", value)


def _text(value: Any) -> str:
    """A command/entrypoint (string or list) as one string."""
    if isinstance(value, list):
        return " ".join(str(part) for part in value)
    return str(value)


def _depends_on(service: Mapping[str, Any]) -> dict[str, str]:
    deps = service.get("depends_on", {})
    if isinstance(deps, list):
        return dict.fromkeys(deps, "service_started")
    return {name: spec.get("condition", "service_started") for name, spec in deps.items()}


def _container_ports(service: Mapping[str, Any]) -> set[int]:
    ports: set[int] = set()
    for entry in service.get("ports", []):
        if isinstance(entry, dict):
            ports.add(int(entry["target"]))
        else:
            ports.add(int(str(entry).split(":")[-1].split("/")[0]))
    return ports


def _compose_shell(service: Mapping[str, Any]) -> str:
    """The inline script of a one-shot job, as the container's shell receives it after compose escaping."""
    assert _text(service.get("entrypoint")) == "/bin/sh -c", "one-shot jobs run their script with sh -c"
    command = service["command"]
    assert isinstance(command, list), "the script must be a one-element list so compose does not split it"
    assert len(command) == 1
    script = str(command[0])
    assert "$" not in script.replace("$$", ""), "compose would interpolate a single `$`; write `$$`"
    return script.replace("$$", "$")


def _write_stub(directory: Path, name: str, body: str) -> None:
    path = directory / name
    path.write_text("#!/bin/sh\n" + body, encoding="utf-8")
    path.chmod(0o755)


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return _load_yaml(COMPOSE_FILE)


@pytest.fixture(scope="module")
def services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    found = compose.get("services")
    assert isinstance(found, dict)
    return found


# ---------------------------------------------------------------- compose: shape


def test_compose_file_follows_the_compose_specification(compose: dict[str, Any]) -> None:
    if not COMPOSE_SCHEMA.is_file():
        pytest.fail(
            f"Compose JSON schema not found at {COMPOSE_SCHEMA}: this test expects the shared folder "
            "(with third_party/compose-spec/compose-spec.json) next to the repository, as CI provides it"
        )
    schema = json.loads(COMPOSE_SCHEMA.read_text(encoding="utf-8"))
    validator = jsonschema.Draft7Validator(schema)
    problems = [
        f"{'/'.join(str(p) for p in err.absolute_path) or '<root>'}: {err.message}"
        for err in validator.iter_errors(compose)
    ]
    assert not problems, "docker-compose.temporal.yml violates the Compose spec:\n" + "\n".join(problems)


def test_stack_has_every_service_the_bridge_needs(services: dict[str, dict[str, Any]]) -> None:
    missing = {POSTGRES, SCHEMA_JOB, SERVER, SETUP_JOB, UI, WORKER, API} - services.keys()
    assert not missing, f"services missing from the stack: {sorted(missing)}"


def test_a_redeploy_waits_longer_than_the_bridge_takes_to_stop(services: dict[str, dict[str, Any]]) -> None:
    """SIGKILL must not come before the worker's calls in flight and the API's answers on their way end."""
    from api.app import ANSWERS_GRACE
    from worker import GRACEFUL_STOP

    def seconds(service: str) -> float:
        period = str(services[service].get("stop_grace_period", "10s"))  # Docker's default
        assert period.endswith("s") and period[:-1].isdigit(), f"{service}: stop_grace_period {period}"
        return float(period[:-1])

    assert seconds(WORKER) >= GRACEFUL_STOP.total_seconds() + 5
    assert seconds(API) >= ANSWERS_GRACE + 5


def test_every_image_is_pinned(services: dict[str, dict[str, Any]]) -> None:
    for name, service in services.items():
        assert "image" in service or "build" in service, f"{name} has neither image nor build"
        if "image" not in service:
            continue
        image = _with_defaults(str(service["image"]))
        repository, _, tag = image.rpartition(":")
        assert repository and "/" not in tag, f"{name}: image {image!r} has no tag"
        assert tag and tag != "latest", f"{name}: image {image!r} must be pinned to a version"


def test_postgres_keeps_its_data_and_reports_health(
    compose: dict[str, Any], services: dict[str, dict[str, Any]]
) -> None:
    db = services[POSTGRES]
    assert _with_defaults(db["image"]).startswith("postgres:16")
    mounts = [str(v) for v in db.get("volumes", [])]
    named = {m.split(":")[0] for m in mounts if m.split(":")[1:] == ["/var/lib/postgresql/data"]}
    assert named, "postgres data must live on a volume"
    assert named <= set(compose.get("volumes", {})), "postgres data must be a named volume"
    assert "pg_isready" in _text(db["healthcheck"]["test"])
    assert "${POSTGRES_PASSWORD:-" in str(db["environment"]["POSTGRES_PASSWORD"])


def test_database_credentials_agree(services: dict[str, dict[str, Any]]) -> None:
    db_env = services[POSTGRES]["environment"]
    schema_env = services[SCHEMA_JOB]["environment"]
    server_env = services[SERVER]["environment"]
    assert db_env["POSTGRES_USER"] == schema_env["SQL_USER"] == server_env["POSTGRES_USER"]
    assert db_env["POSTGRES_PASSWORD"] == schema_env["SQL_PASSWORD"] == server_env["POSTGRES_PWD"]
    assert schema_env["SQL_HOST"] == server_env["POSTGRES_SEEDS"] == POSTGRES
    assert server_env["DB"] == "postgres12"


# ---------------------------------------------------------------- compose: start-up order


@pytest.mark.parametrize(
    ("service", "dependency", "condition"),
    [
        (SCHEMA_JOB, POSTGRES, "service_healthy"),
        (SERVER, POSTGRES, "service_healthy"),
        (SERVER, SCHEMA_JOB, "service_completed_successfully"),
        (SETUP_JOB, SERVER, "service_healthy"),
        (UI, SERVER, "service_healthy"),
        (WORKER, SETUP_JOB, "service_completed_successfully"),
        (API, SETUP_JOB, "service_completed_successfully"),
    ],
)
def test_start_up_order(services: dict[str, dict[str, Any]], service: str, dependency: str, condition: str) -> None:
    assert _depends_on(services[service]).get(dependency) == condition, (
        f"{service} must wait for {dependency} with condition {condition}"
    )


@pytest.mark.parametrize("service", [SERVER, POSTGRES])
def test_depended_on_health_has_a_healthcheck(services: dict[str, dict[str, Any]], service: str) -> None:
    assert services[service].get("healthcheck", {}).get("test"), f"{service} needs a healthcheck"


def test_one_shot_jobs_do_not_restart_forever(services: dict[str, dict[str, Any]]) -> None:
    for job in (SCHEMA_JOB, SETUP_JOB):
        assert services[job].get("restart", "no") in {"no", False}, f"{job} is a one-shot job"


# ---------------------------------------------------------------- compose: Temporal


def test_server_listens_on_7233_with_postgres(services: dict[str, dict[str, Any]]) -> None:
    server = services[SERVER]
    assert _with_defaults(server["image"]).startswith("temporalio/server:")
    assert 7233 in _container_ports(server)
    assert "7233" in _text(server["healthcheck"]["test"])


def test_schema_job_sets_up_both_databases(services: dict[str, dict[str, Any]]) -> None:
    job = services[SCHEMA_JOB]
    assert _with_defaults(job["image"]).startswith("temporalio/admin-tools:")
    script = _compose_shell(job)
    assert script.lstrip().startswith("set -eu")
    assert "temporal-sql-tool --plugin postgres12" in script
    for verb in ("create-database", "setup-schema", "update-schema"):
        assert verb in script, f"schema job never runs {verb}"
    assert "temporal:temporal" in script and "temporal_visibility:visibility" in script


def test_schema_job_script_runs_every_step_for_both_databases(
    services: dict[str, dict[str, Any]], tmp_path: Path
) -> None:
    calls = tmp_path / "calls.log"
    _write_stub(tmp_path, "temporal-sql-tool", f'echo "$*" >> "{calls}"\n')
    result = _run_script(_compose_shell(services[SCHEMA_JOB]), tmp_path)
    assert result.returncode == 0, result.stderr
    lines = calls.read_text().splitlines()
    for db, folder in (("temporal", "temporal"), ("temporal_visibility", "visibility")):
        assert f"--plugin postgres12 --db {db} create-database" in lines
        assert f"--plugin postgres12 --db {db} setup-schema -v 0.0" in lines
        assert (
            f"--plugin postgres12 --db {db} update-schema -d /etc/temporal/schema/postgresql/v12/{folder}/versioned"
        ) in lines


def test_setup_job_creates_namespace_and_every_search_attribute(services: dict[str, dict[str, Any]]) -> None:
    job = services[SETUP_JOB]
    assert _with_defaults(job["image"]).startswith("temporalio/admin-tools:")
    env = job["environment"]
    assert env["TEMPORAL_ADDRESS"] == "temporal:7233"
    assert env["TEMPORAL_NAMESPACE"] == "${TEMPORAL_NAMESPACE:-default}"
    script = _compose_shell(job)
    assert script.lstrip().startswith("set -eu")
    assert "temporal operator cluster health" in script
    assert "temporal operator namespace create" in script and "--retention" in script
    assert "temporal operator search-attribute create" in script
    declared = dict(re.findall(rf"\b([A-Z][A-Za-z]+)=({_SA_TYPES})\b", script))
    assert declared == SEARCH_ATTRIBUTES


def test_search_attribute_list_matches_the_workflows() -> None:
    """The setup job and the workflows' upserts must agree, or a fresh stack stalls on an unknown attribute."""
    in_code = {key.name: key.indexed_value_type.name.lower() for key in ALL_KEYS}
    assert in_code == {name: kind.lower() for name, kind in SEARCH_ATTRIBUTES.items()}


def test_setup_job_script_is_idempotent(services: dict[str, dict[str, Any]], tmp_path: Path) -> None:
    """A first run creates the namespace and every attribute; a second run creates nothing."""
    calls, registered, namespaces = tmp_path / "calls.log", tmp_path / "sa.txt", tmp_path / "ns.txt"
    registered.touch()
    namespaces.touch()
    _write_stub(
        tmp_path,
        "temporal",
        f"""echo "$*" >> "{calls}"
prev=""
for arg in "$@"; do
  case "$prev" in
    --name) name=$arg ;;
    --type) type=$arg ;;
    --namespace) ns=$arg ;;
  esac
  prev=$arg
done
case "$*" in
  "operator cluster health"*) exit 0 ;;
  "operator namespace describe"*) grep -qx "$ns" "{namespaces}" ;;
  "operator namespace create"*) echo "$ns" >> "{namespaces}" ;;
  "operator search-attribute list"*) cat "{registered}" ;;
  "operator search-attribute create"*) echo "$name $type" >> "{registered}" ;;
  *) echo "unexpected: $*" >&2; exit 2 ;;
esac
""",
    )
    script = _compose_shell(services[SETUP_JOB])
    env = {
        "TEMPORAL_ADDRESS": "temporal:7233",
        "TEMPORAL_NAMESPACE": "incidents",
        "NAMESPACE_RETENTION": "168h",
    }

    first = _run_script(script, tmp_path, env)
    assert first.returncode == 0, first.stderr
    assert namespaces.read_text().split() == ["incidents"]
    assert dict(line.split() for line in registered.read_text().splitlines()) == SEARCH_ATTRIBUTES
    created = [line for line in calls.read_text().splitlines() if " create " in f" {line} "]
    assert all("--namespace incidents" in line and "--address temporal:7233" in line for line in created)

    calls.write_text("")
    second = _run_script(script, tmp_path, env)
    assert second.returncode == 0, second.stderr
    assert not [line for line in calls.read_text().splitlines() if " create " in f" {line} "]


def _run_script(script: str, stub_dir: Path, env: Mapping[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    shell = shutil.which("sh")
    if shell is None:
        pytest.skip("no POSIX sh on this machine")
    full_env = {"PATH": f"{stub_dir}{os.pathsep}{os.environ.get('PATH', '')}", **(env or {})}
    return subprocess.run([shell, "-c", script], env=full_env, capture_output=True, text=True, timeout=60, check=False)


def test_ui_points_at_the_server(services: dict[str, dict[str, Any]]) -> None:
    ui = services[UI]
    assert _with_defaults(ui["image"]).startswith("temporalio/ui:")
    assert ui["environment"]["TEMPORAL_ADDRESS"] == f"{SERVER}:7233"
    assert 8080 in _container_ports(ui)


# ---------------------------------------------------------------- compose: the bridge


@pytest.mark.parametrize("name", BRIDGE_SERVICES)
def test_bridge_service_gets_the_environment_contract(services: dict[str, dict[str, Any]], name: str) -> None:
    env = services[name]["environment"]
    assert isinstance(env, dict), "use the mapping form so each variable is visible"
    missing = CONTRACT_ENV - env.keys()
    assert not missing, f"{name} lacks contract variables {sorted(missing)}"
    for var in CREDENTIALS:
        assert str(env[var]).startswith(f"${{{var}:?"), f"{name}: {var} must be required with ${{{var}:?...}}"
    for var in SECRET_FILES:
        assert var not in env, f"{name}: {var} must come from a file, not the environment"
        assert env[f"{var}_FILE"] == f"/run/secrets/{var.lower()}"
        assert var.lower() in services[name]["secrets"]
    assert env["BRIDGE_CONFIG"] == "/etc/bridge/bridge.toml"
    assert env["TEMPORAL_NAMESPACE"] == "${TEMPORAL_NAMESPACE:-default}"
    assert _with_defaults(env["TEMPORAL_TASK_QUEUE"]) == "pd-slack-bridge"


def test_secret_files_are_declared_and_kept_out_of_git_and_the_image(compose: dict[str, Any]) -> None:
    declared = compose["secrets"]
    assert set(declared) == {var.lower() for var in SECRET_FILES}
    assert all(spec == {"file": f"./secrets/{name}"} for name, spec in declared.items())
    assert "secrets" in (REPO / ".dockerignore").read_text(encoding="utf-8").splitlines()
    assert "secrets/" in (REPO / ".gitignore").read_text(encoding="utf-8").splitlines()


@pytest.mark.parametrize("name", BRIDGE_SERVICES)
def test_bridge_reaches_temporal_by_service_name(services: dict[str, dict[str, Any]], name: str) -> None:
    host, _, port = str(services[name]["environment"]["TEMPORAL_ADDRESS"]).partition(":")
    assert host == SERVER and host in services, f"{name}: TEMPORAL_ADDRESS must name the {SERVER} service"
    assert port == "7233", f"{name}: TEMPORAL_ADDRESS must use the frontend's gRPC port"
    assert 7233 in _container_ports(services[host])


@pytest.mark.parametrize("name", BRIDGE_SERVICES)
def test_bridge_config_is_mounted_read_only(services: dict[str, dict[str, Any]], name: str) -> None:
    mounts = services[name].get("volumes", [])
    matching = [
        m
        for m in mounts
        if (isinstance(m, dict) and m.get("target") == "/etc/bridge/bridge.toml")
        or (isinstance(m, str) and ":/etc/bridge/bridge.toml" in m)
    ]
    assert len(matching) == 1, f"{name} must mount ./bridge.toml at /etc/bridge/bridge.toml"
    mount = matching[0]
    if isinstance(mount, dict):
        assert mount["source"] == "./bridge.toml" and mount.get("read_only") is True
    else:
        assert mount == "./bridge.toml:/etc/bridge/bridge.toml:ro"


@pytest.mark.parametrize("name", BRIDGE_SERVICES)
def test_bridge_is_built_from_the_dockerfile(services: dict[str, dict[str, Any]], name: str) -> None:
    build = services[name].get("build")
    context = build if isinstance(build, str) else (build or {}).get("context")
    dockerfile = "Dockerfile" if isinstance(build, str) else (build or {}).get("dockerfile", "Dockerfile")
    assert context == "."
    assert (REPO / dockerfile).is_file()


def test_processes_follow_the_contract(services: dict[str, dict[str, Any]]) -> None:
    assert _text(services[WORKER]["command"]) == "python worker.py"
    api_command = _text(services[API]["command"])
    assert api_command.startswith("uvicorn api.app:app ")
    assert "--port 8000" in api_command and "--host 0.0.0.0" in api_command
    assert 8000 in _container_ports(services[API])


def test_api_healthcheck_asks_readyz(services: dict[str, dict[str, Any]]) -> None:
    test = _text(services[API]["healthcheck"]["test"])
    assert "urllib" in test and ":8000/readyz" in test


def test_scaling_is_addressed(services: dict[str, dict[str, Any]]) -> None:
    replicas = services[WORKER].get("deploy", {}).get("replicas")
    mentioned = "scale" in COMPOSE_FILE.read_text(encoding="utf-8").lower()
    assert (isinstance(replicas, int) and replicas >= 1) or mentioned


# ---------------------------------------------------------------- Dockerfile and .dockerignore


def _dockerfile_instructions() -> list[tuple[str, str]]:
    text = (REPO / "Dockerfile").read_text(encoding="utf-8").replace("\\\n", " ")
    instructions = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            keyword, _, rest = stripped.partition(" ")
            instructions.append((keyword.upper(), rest.strip()))
    return instructions


def test_dockerfile_builds_a_slim_non_root_runtime_image() -> None:
    instructions = _dockerfile_instructions()
    assert [rest for kw, rest in instructions if kw == "FROM"] == ["python:3.11-slim"]
    assert ("WORKDIR", "/app") in instructions
    runs = " ".join(rest for kw, rest in instructions if kw == "RUN")
    assert re.search(r"pip install \.(\s|$)", runs), "install the project itself with `pip install .`"
    assert "[dev]" not in runs and "-e " not in runs, "no dev extras or editable installs in the image"
    users = [rest for kw, rest in instructions if kw == "USER"]
    assert users and users[-1] not in {"root", "0", "0:0"}, "the image must end on a non-root USER"
    cmd = [json.loads(rest) for kw, rest in instructions if kw == "CMD"]
    assert cmd and cmd[-1] == ["python", "worker.py"]


def test_dockerignore_keeps_local_state_out_of_the_image() -> None:
    ignored = {
        line.strip()
        for line in (REPO / ".dockerignore").read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    assert {".git", ".venv", "bridge.toml", "tests"} <= ignored
    for needed in ("pyproject.toml", "api", "workflows", "activities", "worker.py", "settings.py"):
        assert needed not in ignored


# ---------------------------------------------------------------- Slack manifest


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    return _load_yaml(REPO / "slack-app-manifest.yml")


def test_manifest_enables_interactivity(manifest: dict[str, Any]) -> None:
    interactivity = manifest["settings"]["interactivity"]
    assert interactivity["is_enabled"] is True
    assert str(interactivity["request_url"]).startswith("https://")
    assert str(interactivity["request_url"]).endswith("/slack/interactions")


def test_manifest_requests_exactly_the_needed_bot_scopes(manifest: dict[str, Any]) -> None:
    scopes = manifest["oauth_config"]["scopes"]["bot"]
    assert len(scopes) == len(set(scopes)), "duplicate scopes"
    assert set(scopes) == SLACK_BOT_SCOPES
    assert "user" not in manifest["oauth_config"]["scopes"], "the bridge needs no user-token scopes"


def test_manifest_has_a_bot_user_the_pd_command_and_no_events(manifest: dict[str, Any]) -> None:
    assert manifest["features"]["bot_user"]["display_name"] == "pd-bridge"
    [command] = manifest["features"]["slash_commands"]
    assert command["command"] == "/pd" and command["url"].endswith("/slack/commands")
    assert command["url"].startswith("https://") and len(command["usage_hint"]) <= 1000
    assert command["should_escape"] is False
    assert "event_subscriptions" not in manifest["settings"]
    assert len(manifest["display_information"]["name"]) <= 35


# ---------------------------------------------------------------- example config


def test_example_config_has_the_contract_keys() -> None:
    data = tomllib.loads((REPO / "bridge.example.toml").read_text(encoding="utf-8"))
    assert isinstance(data["routing"]["default_channel"], str)
    assert isinstance(data["routing"]["services"], dict)
    assert isinstance(data["identity"]["slack_to_pagerduty"], dict)
    assert {"admin_slack_users", "allow_incidents_without_team"} <= data["authorization"].keys()
    assert set(data["timing"]) == TIMING_KEYS


def test_example_config_is_accepted_by_the_loader() -> None:
    config = settings.load_config(REPO / "bridge.example.toml")
    assert config.routing.default_channel == "C0DEFAULT"
    assert config.channel_for("PSVC001") == "C0PAYMENTS"
    assert config.channel_for("PUNKNOWN") == "C0DEFAULT"
    assert config.timing.linger_after_resolve_seconds == 86400
    assert config.timing.sweep_interval_seconds == 300
    assert config.pagerduty.webhook_url is None


@pytest.mark.parametrize(
    ("toml_text", "key_path"),
    [
        ("[routing]\ndefault_channel = 5\n", "routing.default_channel"),
        ('[routing]\ndefault_channel = "C1"\n[timing]\naction_deadline = 3\n', "timing.action_deadline"),
        ("[timing]\naction_deadline_seconds = 3\n", "routing"),
    ],
    ids=["wrong-type", "misspelt-key", "missing-section"],
)
def test_bad_config_names_the_key(tmp_path: Path, toml_text: str, key_path: str) -> None:
    path = tmp_path / "bridge.toml"
    path.write_text(toml_text, encoding="utf-8")
    with pytest.raises(settings.ConfigError) as excinfo:
        settings.load_config(path)
    assert key_path in str(excinfo.value)
