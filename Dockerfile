# One image holds every component: a Job runs `churn component <name> ...`,
# the server runs `churn serve`, the driver runs `churn pipeline run`.

# ---- build: compile TypeScript, then keep only production dependencies
FROM node:20.20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund --loglevel=error
COPY tsconfig.json tsconfig.build.json ./
COPY cli ./cli
COPY components ./components
COPY pipelines ./pipelines
COPY functions ./functions
COPY serving ./serving
RUN npm run build && npm prune --omit=dev

# ---- runtime: distroless Node, no shell, no package manager
FROM gcr.io/distroless/nodejs20-debian12:nonroot
WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# The web console's pages are plain files beside its code (no build step).
COPY --from=build /app/serving/console/static ./serving/console/static
# Read-only root filesystem: the only writable place is /tmp (an emptyDir in the chart).
ENV NODE_ENV=production \
    HOME=/tmp \
    TMPDIR=/tmp
# Numeric non-root user (nobody), so runAsNonRoot can verify it without /etc/passwd.
USER 65534:65534
# Node flags: STEP_NODE_FLAGS in pipelines/runner/executor.ts (the container test checks they match).
ENTRYPOINT ["/nodejs/bin/node", "--max-semi-space-size=64", "/app/dist/cli/bin.js"]
CMD ["--help"]
