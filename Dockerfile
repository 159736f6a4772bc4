# Flowbot: one image, two entry points: `flowbot serve` (the Slack app; `serve --socket` for Socket Mode)
# and `flowbot worker`. Build: docker build -t flowbot . (README "Deploy"; helm/flowbot runs it.)
# Release builds pin the base by digest: --build-arg PYTHON_IMAGE=python:3.11-slim-trixie@sha256:…
ARG PYTHON_IMAGE=python:3.11-slim-trixie

# Build stage: pip and setuptools as requirements-build.lock pins them, then the runtime dependencies as
# requirements.lock pins them (hash-checked wheels, no resolver), then Flowbot's own wheel, built by that
# setuptools (no build isolation: nothing is fetched at build time), into a virtualenv that the runtime
# stage copies whole.
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
RUN python -m venv /opt/flowbot
COPY requirements-build.lock requirements.lock ./
RUN /opt/flowbot/bin/python -m pip install --require-hashes --no-deps --only-binary :all: \
       -r requirements-build.lock \
    && /opt/flowbot/bin/python -m pip install --require-hashes --no-deps --only-binary :all: \
       -r requirements.lock
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
COPY query_templates ./query_templates
# pip and setuptools are build tools: the runtime image does without them (smaller, and less to patch).
RUN /opt/flowbot/bin/pip install --no-deps --no-build-isolation . \
    && /opt/flowbot/bin/pip check \
    && /opt/flowbot/bin/pip uninstall --quiet --yes pip setuptools

# Runtime stage: no compilers, no pip cache, no source tree; runs as uid 10001 and works with a read-only
# root filesystem (HOME and the working directory are /tmp; the chart mounts an emptyDir there).
FROM ${PYTHON_IMAGE}
ENV PATH=/opt/flowbot/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp \
    FLOWBOT_LOCAL_DATA_DIR=/data/flowlogs \
    FLOWBOT_IOC_STORE=/data/iocs \
    FLOWBOT_UNDELIVERED_DIR=/data/undelivered
RUN groupadd --system --gid 10001 flowbot \
    && useradd --system --uid 10001 --gid flowbot --home-dir /tmp --no-create-home \
       --shell /usr/sbin/nologin flowbot \
    && mkdir /data \
    && chown flowbot:flowbot /data
COPY --from=build /opt/flowbot /opt/flowbot
USER 10001:10001
WORKDIR /tmp
EXPOSE 3000
# Redis answers and the engine is usable; the same check for `serve`, `serve --socket` and `worker`.
HEALTHCHECK --interval=30s --timeout=10s --start-period=15s --retries=3 CMD ["flowbot", "check"]
ENTRYPOINT ["flowbot"]
CMD ["serve"]
