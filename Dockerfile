# syntax=docker/dockerfile:1
# One image recipe for both deployables, built from the repo root:
#   docker build --build-arg SERVICE=api .       (docker compose: services api and worker)
#   docker build --build-arg SERVICE=worker .
#   build   - whole workspace source, deps from the lockfile, tsc for services/$SERVICE and the
#             packages it uses, then `pnpm deploy --prod`: one folder with that service's dist
#             and its production node_modules only.
#   runtime - that folder on a slim Node, as the unprivileged `node` user.
# PID 1 is docker's init (compose `init: true`), which forwards SIGTERM to node (CMD is the
# exec form: no shell in between); both services drain in-flight work on SIGTERM within
# compose's stop_grace_period (30 s; the worker's SHUTDOWN_GRACE_MS is 25 s).
# Checked by observability/test/dockerfile.test.ts, which also runs this file's deploy step
# and CMD outside Docker against real Redis and Postgres.
# Same release as .node-version (observability/test/node-pin.test.ts checks they agree).
ARG NODE_VERSION=24.22.3

FROM node:${NODE_VERSION}-bookworm-slim AS build
ARG PNPM_VERSION=10.34.9
# api or worker: the folder under services/ and the package @media-cluster/$SERVICE.
ARG SERVICE
ENV CI=true \
    PNPM_HOME=/pnpm
RUN npm install -g pnpm@${PNPM_VERSION}
WORKDIR /repo
# Lockfile first: the package download layer stays cached until the lockfile changes.
COPY pnpm-lock.yaml pnpm-workspace.yaml ./
RUN --mount=type=cache,id=pnpm-store,target=/pnpm/store pnpm fetch --store-dir /pnpm/store
COPY . .
RUN test -n "${SERVICE}" -a -f "services/${SERVICE}/package.json" \
    || { echo "build with --build-arg SERVICE=api or SERVICE=worker (got '${SERVICE}')" >&2; exit 1; }
RUN --mount=type=cache,id=pnpm-store,target=/pnpm/store \
    pnpm install --offline --frozen-lockfile --store-dir /pnpm/store --filter "@media-cluster/${SERVICE}..."
RUN pnpm --filter "@media-cluster/${SERVICE}..." run build
# inject-workspace-packages for this step only: the deploy then follows the workspace
# lockfile (the exact versions the tests ran, offline from the fetched store) and copies
# workspace deps by their "files" (dist): no TypeScript sources, no dev dependencies.
RUN --mount=type=cache,id=pnpm-store,target=/pnpm/store \
    pnpm --filter @media-cluster/${SERVICE} --config.inject-workspace-packages=true \
    deploy --prod --offline --store-dir /pnpm/store /out

FROM node:${NODE_VERSION}-bookworm-slim AS runtime
# HOST: the services listen on loopback unless told otherwise; in a container the
# ports must face the container network (compose publishes them on the host's loopback).
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PHOTO_DIR=/data/photos
WORKDIR /app
COPY --from=build --chown=node:node /out ./
# The photos volume is mounted here; created in the image so a fresh named volume
# inherits the node user's ownership.
RUN mkdir -p /data/photos && chown node:node /data/photos
USER node
# Ports are the services' defaults and are published by compose: api 8080 (API) and
# 9464 (metrics), worker 9465 (metrics, /health, /ready).
STOPSIGNAL SIGTERM
# The OTel SDK is loaded before any application module, so every import is instrumented.
CMD ["node", "--import", "@media-cluster/telemetry/register", "dist/index.js"]
