# syntax=docker/dockerfile:1
#
# One image for every Pipewright process; the command picks the service:
#   node services/planner/dist/main.js      (the default CMD)
#   node services/executor/dist/main.js
#   node services/budget/dist/main.js
#   node services/approver/dist/main.js
#   node services/console/dist/main.js      (runs API, dashboard, webhooks: PW_CONSOLE_PORT 8070)
#   node packages/llm-sim/dist/bin/llm-sim.js --port 8080 --host 0.0.0.0   (simulator, demos)
#   node packages/cli/dist/bin/pipewright.js ...                           (the CLI, e.g. kubectl exec)
#
# Build from the repository root:  docker build -t pipewright:dev .
#
# Stages: manifests (only the files that decide what gets installed, so source edits keep the install
# layers cached) → build (full install, `tsc -b`) and prod-deps (production dependencies only) →
# runtime (prod-deps + the compiled dist folders, no pnpm, no compiler, no sources).

# Node 24 (active LTS); CI and the tests run 24.22.3 (scripts/ensure-node.sh). For a reproducible build
# pin the exact tag, e.g. --build-arg NODE_IMAGE=node:24.22.3-bookworm-slim.
ARG NODE_IMAGE=node:24-bookworm-slim

FROM ${NODE_IMAGE} AS pnpm
# corepack is unreliable (signature errors), so pnpm comes from npm.
ARG PNPM_VERSION=10
RUN npm install -g "pnpm@${PNPM_VERSION}" && pnpm --version
# CI=true: pnpm never prompts and treats the lockfile as frozen.
ENV CI=true
WORKDIR /app

FROM pnpm AS manifests
COPY . /src
# Every workspace project's package.json (whatever pnpm-workspace.yaml lists), in place.
RUN set -eu; mkdir -p /manifests; cd /src; \
    cp package.json pnpm-lock.yaml pnpm-workspace.yaml /manifests/; \
    find . -mindepth 2 -name package.json -not -path '*/node_modules/*' | while read -r f; do \
      mkdir -p "/manifests/$(dirname "$f")"; cp "$f" "/manifests/$f"; \
    done

FROM pnpm AS build
COPY --from=manifests /manifests/ ./
RUN pnpm install --frozen-lockfile
COPY . .
# Root `tsc -b` builds every workspace project in reference order.
RUN pnpm run build
# Keep only what runs: every workspace project's dist (no build info).
RUN set -eu; mkdir -p /out; \
    find . -type d -name dist -not -path '*/node_modules/*' -prune | while read -r d; do \
      mkdir -p "/out/$(dirname "$d")"; cp -R "$d" "/out/$d"; \
    done; \
    find /out -name '*.tsbuildinfo' -delete

FROM pnpm AS prod-deps
COPY --from=manifests /manifests/ ./
RUN pnpm install --frozen-lockfile --prod

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
WORKDIR /app
# Files stay owned by root and read-only to the `node` user: the container runs with a read-only root
# filesystem and never writes into /app.
COPY --from=prod-deps /app/ ./
COPY --from=build /out/ ./
COPY examples ./examples
# uid/gid 1000 in the node images; Kubernetes manifests set runAsUser: 1000 because runAsNonRoot
# cannot verify a user given by name.
USER node
# 9464: ops server (PW_HTTP_PORT: /healthz, /readyz, /metrics); 8080: approver API / llm-sim; 8070: console.
EXPOSE 9464 8080 8070
# Node is PID 1 and handles SIGTERM itself (graceful drain within PW_SHUTDOWN_GRACE_MS).
CMD ["node", "services/planner/dist/main.js"]
