# rotor container image. Build from the repository root:
#   docker build -t rotor:0.1.0 .
# Any Docker engine from 20.10 on builds it, with the classic builder or BuildKit, and Compose
# v1 (docker-compose 1.29) or v2 drives it: no `# syntax=` line (it would fetch a frontend from
# Docker Hub) and no BuildKit-only `RUN --mount`.
# Operator guide: docs/operations.md. The compose stack: deploy/docker-compose.yml.
#
# The base is Debian 12 with Debian's own python3, which is 3.11: the Python the test suite runs
# on. Where no registry is reachable, deploy/base-image.sh builds `debian:bookworm-slim` locally
# from Debian's packages. Pin a digest for production builds where a registry is reachable:
#   --build-arg BASE_IMAGE=debian:bookworm-slim@sha256:<digest>
ARG BASE_IMAGE=debian:bookworm-slim

# ---------------------------------------------------------------- build: the venv
FROM ${BASE_IMAGE} AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv \
 && rm -rf /var/lib/apt/lists/*
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
# 1) The dependencies at the tested versions, in a layer that only pyproject.toml and the
#    constraints invalidate (a change to bot/ rebuilds in seconds);
# 2) rotor's own wheel (migrations and the bundled sample ship inside it). pip itself is not
#    needed at run time.
COPY pyproject.toml ./
COPY deploy/constraints.txt ./deploy/constraints.txt
RUN python3 -m venv /opt/rotor \
 && python3 -c 'import tomllib; print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]))' > requirements.txt \
 && /opt/rotor/bin/pip install --requirement requirements.txt --constraint deploy/constraints.txt
COPY README.md ./
COPY migrations ./migrations
COPY bot ./bot
RUN /opt/rotor/bin/pip wheel --no-deps --wheel-dir /dist . \
 && /opt/rotor/bin/pip install --no-deps /dist/rotor_bot-*.whl \
 && /opt/rotor/bin/pip check \
 && /opt/rotor/bin/python -m pip uninstall --yes pip setuptools \
 && /opt/rotor/bin/rotor version

# ---------------------------------------------------------------- runtime
FROM ${BASE_IMAGE} AS runtime
ARG ROTOR_UID=10001
# tini is PID 1: it forwards SIGTERM (docker stop), SIGUSR1/SIGUSR2 (docker kill -s ...) and
# SIGHUP to rotor and reaps zombies. A regular (not --system) account: uid 10001 lies outside
# the system range, and useradd would warn about it on every build.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 tini ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --gid "${ROTOR_UID}" rotor \
 && useradd --uid "${ROTOR_UID}" --gid rotor --home-dir /var/lib/rotor --no-create-home \
        --no-log-init --shell /usr/sbin/nologin rotor \
 && install -d -o rotor -g rotor -m 0750 /var/lib/rotor
# The venv from the build stage (same base, same /usr/bin/python3): no source tree, no pip.
COPY --from=build /opt/rotor /opt/rotor

# No database URL here: compose hands one over as ROTOR__DATABASE__URL_FILE, and a URL set by
# the image as well would be the same key given twice (refused). Without one, rotor's default
# SQLite file var/rotor.db lies under the working directory, i.e. in the volume:
# /var/lib/rotor/var/rotor.db (a directory volume, so SQLite's -wal/-shm files sit beside it).
# The control API listens on all interfaces inside the container, which the config only allows
# with a token: provide ROTOR__CONTROL__TOKEN_FILE (a Docker secret) or ROTOR__CONTROL__TOKEN,
# otherwise rotor refuses to start and says so.
ENV PATH=/opt/rotor/bin:${PATH} \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    ROTOR__CONTROL__HOST=0.0.0.0 \
    ROTOR__CONTROL__PORT=8080 \
    ROTOR__LOGGING__FORMAT=json

USER ${ROTOR_UID}:${ROTOR_UID}
WORKDIR /var/lib/rotor
VOLUME ["/var/lib/rotor"]
EXPOSE 8080
STOPSIGNAL SIGTERM
# The daemon's liveness (GET /healthz, no token, 3 s timeout); readiness is `rotor status
# --ready`. Containers that run something else from this image (`rotor sim serve`) set their
# own check (deploy/docker-compose.sim.yml) or `docker run --no-healthcheck`.
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
    CMD ["rotor", "status", "--health"]
ENTRYPOINT ["/usr/bin/tini", "--", "rotor"]
CMD ["run"]
