"""Secrets given as files (`<NAME>_FILE`, as Docker and Kubernetes mount them), read when the settings load."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from settings import SECRET_FIELDS, ConfigError, Settings

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in SECRET_FIELDS:
        monkeypatch.delenv(name.upper(), raising=False)
        monkeypatch.delenv(f"{name.upper()}_FILE", raising=False)


def test_every_secret_can_come_from_a_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for name in SECRET_FIELDS:
        path = tmp_path / name
        path.write_text(f"{name}-value\n")  # as `echo value > file` writes it
        monkeypatch.setenv(f"{name.upper()}_FILE", str(path))
    settings = Settings()
    for name in SECRET_FIELDS:
        if name == "pagerduty_webhook_secrets":
            assert settings.webhook_secrets() == [f"{name}-value"]
        else:
            assert settings.secret(name) == f"{name}-value"


def test_webhook_secrets_file_lists_one_secret_a_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "hooks").write_text("old-secret\nnew-secret\n")
    monkeypatch.setenv("PAGERDUTY_WEBHOOK_SECRETS_FILE", str(tmp_path / "hooks"))
    assert Settings().webhook_secrets() == ["old-secret", "new-secret"]


def test_both_forms_at_once_is_an_error_naming_the_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "token").write_text("from-file")
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-from-env")
    monkeypatch.setenv("SLACK_BOT_TOKEN_FILE", str(tmp_path / "token"))
    with pytest.raises(ConfigError, match="both SLACK_BOT_TOKEN and SLACK_BOT_TOKEN_FILE are set"):
        Settings()


def test_unreadable_file_names_the_variable_and_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PAGERDUTY_CLIENT_SECRET_FILE", str(tmp_path / "absent"))
    with pytest.raises(ConfigError, match=r"PAGERDUTY_CLIENT_SECRET_FILE: cannot read .*absent"):
        Settings()


def test_worker_refuses_to_start_with_both_forms(tmp_path: Path) -> None:
    (tmp_path / "secret").write_text("x")
    env = {"PATH": "/usr/bin:/bin", "PAGERDUTY_API_TOKEN": "pd-key-value-123",
           "PAGERDUTY_API_TOKEN_FILE": str(tmp_path / "secret")}
    done = subprocess.run([sys.executable, "worker.py"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 2
    assert "both PAGERDUTY_API_TOKEN and PAGERDUTY_API_TOKEN_FILE are set" in done.stderr
    assert "pd-key-value-123" not in done.stderr
