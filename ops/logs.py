"""Structured logs: one JSON object per line, with the incident id whenever the line is about one."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

PREFIX = "pd-incident-"


def incident_of(record: logging.LogRecord) -> str | None:
    explicit = getattr(record, "incident_id", None)
    if explicit:
        return str(explicit)
    # Temporal's workflow and activity loggers put the workflow id on the record.
    for attr in ("temporal_workflow", "temporal_activity"):
        info: Any = getattr(record, attr, None)
        workflow_id = info.get("workflow_id") if isinstance(info, dict) else None
        if isinstance(workflow_id, str) and workflow_id.startswith(PREFIX):
            return workflow_id[len(PREFIX):]
    return None


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        incident = incident_of(record)
        if incident:
            line["incident_id"] = incident
        if record.exc_info:
            line["error"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def setup_logging(level: int = logging.INFO, path: Path | None = None) -> None:
    """JSON lines on stderr (production), or appended to `path` (so `dev.py run` can narrate on the console)."""
    handler: logging.Handler
    if path is None:
        handler = logging.StreamHandler(sys.stderr)
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(JsonFormatter())
    # The JSON lines carry no thread or process names: do not collect them for every record.
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("httpx", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
