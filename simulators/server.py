"""Serve any ASGI app on loopback from a background thread, for tests and the sandbox demo."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
from types import TracebackType
from typing import Any

import uvicorn


class ServedApp:
    """Runs `app` under uvicorn on 127.0.0.1 (free port) in a daemon thread with its own event loop.

    The caller's loop stays free: the app is reached over real HTTP, exactly as the bridge would reach
    Slack or PagerDuty, so timeouts, connection errors and retries behave as in production.
    """

    def __init__(self, app: Any, *, port: int = 0, startup_timeout: float = 10.0) -> None:
        self._app = app
        self._requested_port = port
        self._startup_timeout = startup_timeout
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._socket: socket.socket | None = None
        self._error: BaseException | None = None
        self._port = 0

    @property
    def url(self) -> str:
        if not self._port:
            raise RuntimeError("ServedApp is not started")
        return f"http://127.0.0.1:{self._port}"

    @property
    def port(self) -> int:
        return self._port

    def start(self) -> ServedApp:
        if self._thread is not None:
            return self
        # Binding the socket ourselves gives us the port before uvicorn starts, without a race.
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self._requested_port))
        self._socket = sock
        self._port = sock.getsockname()[1]
        config = uvicorn.Config(
            self._app,
            log_level="warning",
            access_log=False,
            loop="asyncio",
            http="h11",
            ws="none",
            lifespan="auto",
            timeout_graceful_shutdown=2,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._run, name=f"served-app-{self._port}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + self._startup_timeout
        while not self._server.started:
            if self._error is not None or not self._thread.is_alive():
                self.stop()
                raise RuntimeError(f"server failed to start: {self._error!r}")
            if time.monotonic() > deadline:
                self.stop()
                raise TimeoutError("server did not start in time")
            time.sleep(0.005)
        return self

    def _run(self) -> None:
        assert self._server is not None and self._socket is not None
        try:
            # uvicorn only installs signal handlers on the main thread, so this is safe here.
            asyncio.run(self._server.serve(sockets=[self._socket]))
        except BaseException as exc:  # surfaced to start(); a thread must not die silently
            self._error = exc

    def request_stop(self) -> None:
        """Ask uvicorn to shut down without waiting; `stop()` then waits. Lets callers stop several at once."""
        if self._server is not None:
            self._server.should_exit = True

    def stop(self, timeout: float = 5.0) -> None:
        server, thread = self._server, self._thread
        self.request_stop()
        if thread is not None:
            thread.join(timeout)
            if thread.is_alive() and server is not None:
                server.force_exit = True
                thread.join(timeout)
        if self._socket is not None:
            self._socket.close()
        self._server = self._thread = self._socket = None
        self._port = 0

    def __enter__(self) -> ServedApp:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def stop_all(*apps: ServedApp) -> None:
    """Stop several servers concurrently: each uvicorn shutdown spends ~0.15 s in fixed sleeps."""
    for app in apps:
        app.request_stop()
    for app in apps:
        app.stop()
