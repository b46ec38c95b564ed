"""The worker's own /metrics endpoint, for deployments where it runs apart from the API."""

from __future__ import annotations

import logging

from prometheus_client import start_http_server

log = logging.getLogger("bridge.worker")


def serve_worker_metrics(port: str | None) -> None:
    if not port:
        return
    start_http_server(int(port), addr="0.0.0.0")  # scraped by Prometheus from outside the pod
    log.info("worker metrics at :%s/metrics", port)
