# One image for the three app processes (receiver, worker, migrate); docker-compose.yml picks the
# command. Debian (glibc), not Alpine: the Temporal worker's native core-bridge ships glibc builds only.
ARG NODE_IMAGE=node:20.20-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
# Manifests first, so the dependency layer is reused until package-lock.json changes.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
# npm run build (scripts/build.sh): JavaScript with source maps in dist/, the dashboard's files, and the workflow
# bundle made once (dist/src/worker/workflows.bundle.js), so the worker starts without webpack. Then the dev-only
# packages (TypeScript, tsx, jest, eslint, ...) leave node_modules.
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

FROM ${NODE_IMAGE}
# Stack traces point into the TypeScript sources (the .js.map files; the sources themselves are not shipped).
ENV NODE_ENV=production \
    NODE_OPTIONS=--enable-source-maps \
    HOST=0.0.0.0 \
    PORT=3000
WORKDIR /app
# Only what runs: the compiled code (with the compiled migrations in dist/migrations, the dashboard's files and the
# workflow bundle), the production dependencies and package.json. No TypeScript source, no tsx.
COPY --from=build --chown=node:node /app/package.json ./
COPY --from=build --chown=node:node /app/node_modules ./node_modules
COPY --from=build --chown=node:node /app/dist ./dist
USER node
EXPOSE 3000
# The receiver, with the young generation of docker-compose.yml (see there).
CMD ["node", "--max-semi-space-size=4", "dist/src/receiver/main.js"]
