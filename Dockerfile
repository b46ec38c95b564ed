# Image for both bridge processes; docker-compose.temporal.yml picks the process with `command`
# (`python worker.py` or `uvicorn api.app:app ...`).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# A fixed, unprivileged uid/gid so file permissions on mounted config are predictable.
RUN groupadd --system --gid 10001 bridge \
    && useradd --system --uid 10001 --gid bridge --create-home --home-dir /home/bridge \
       --shell /usr/sbin/nologin bridge

WORKDIR /app

# Runtime dependencies only (no [dev] extra). The sources stay in /app as well, because the two
# entry points are run from here as `worker.py` and `api.app:app`.
COPY . /app
RUN pip install . \
    && rm -rf /app/build /app/*.egg-info

USER bridge

EXPOSE 8000

CMD ["python", "worker.py"]
