# syntax=docker/dockerfile:1.7
# rotor container image. Build from the repository root:
#   docker build -t rotor:0.1.0 .        (BuildKit, the default since Docker 23, for RUN --mount)
# Operator guide: docs/operations.md. The compose stack: deploy/docker-compose.yml.
#
# The base image is pinned by its full patch tag. Pin the digest as well for production builds:
# resolve it where a registry is reachable (`docker buildx imagetools inspect <tag>`) and build
# with --build-arg PYTHON_IMAGE=python:3.12.13-slim-bookworm@sha256:<digest>.
ARG PYTHON_IMAGE=python:3.12.13-slim-bookworm

# ---------------------------------------------------------------- build: wheels only
FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
COPY pyproject.toml README.md ./
COPY deploy/constraints.txt ./deploy/constraints.txt
COPY migrations ./migrations
COPY bot ./bot
# 1) rotor's own wheel (migrations and the bundled sample ship inside it);
# 2) wheels for its dependencies, resolved from that wheel's metadata at the tested versions.
RUN pip wheel --no-deps --wheel-dir /dist . \
 && pip wheel --wheel-dir /wheels --constraint deploy/constraints.txt /dist/rotor_bot-*.whl

# ---------------------------------------------------------------- runtime
FROM ${PYTHON_IMAGE} AS runtime
ARG ROTOR_UID=10001
# tini is PID 1: it forwards SIGTERM (docker stop), SIGUSR1/SIGUSR2 (docker kill -s ...) and
# SIGHUP to rotor and reaps zombies.
RUN apt-get update \
 && apt-get install -y --no-install-recommends tini \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid "${ROTOR_UID}" rotor \
 && useradd --system --uid "${ROTOR_UID}" --gid rotor --home-dir /var/lib/rotor \
        --no-create-home --shell /usr/sbin/nologin rotor \
 && install -d -o rotor -g rotor -m 0750 /var/lib/rotor
# The image gets the wheels, never the source tree; installing needs no index.
RUN --mount=type=bind,from=build,source=/wheels,target=/wheels \
    python -m venv /opt/rotor \
 && /opt/rotor/bin/pip install --no-cache-dir --no-index --find-links /wheels rotor-bot \
 && /opt/rotor/bin/rotor version

# The SQLite database lives in a directory volume (not a file mount) so its -wal/-shm files work.
# The control API listens on all interfaces inside the container, which the config only allows
# with a token: provide ROTOR__CONTROL__TOKEN_FILE (a Docker secret) or ROTOR__CONTROL__TOKEN,
# otherwise rotor refuses to start and says so.
ENV PATH=/opt/rotor/bin:${PATH} \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    ROTOR__DATABASE__URL=sqlite+aiosqlite:////var/lib/rotor/rotor.db \
    ROTOR__CONTROL__HOST=0.0.0.0 \
    ROTOR__CONTROL__PORT=8080 \
    ROTOR__LOGGING__FORMAT=json

USER ${ROTOR_UID}:${ROTOR_UID}
WORKDIR /var/lib/rotor
VOLUME ["/var/lib/rotor"]
EXPOSE 8080
STOPSIGNAL SIGTERM
# Liveness only (GET /healthz, no token, 3 s timeout); readiness is `rotor status --ready`.
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
    CMD ["rotor", "status", "--health"]
ENTRYPOINT ["/usr/bin/tini", "--", "rotor"]
CMD ["run"]
