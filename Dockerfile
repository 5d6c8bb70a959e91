# One image for the three app processes (receiver, worker, migrate); docker-compose.yml picks the
# command. Debian (glibc), not Alpine: the Temporal worker's native core-bridge ships glibc builds only.
ARG NODE_IMAGE=node:20.20-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
# Manifests first, so the dependency layer is reused until package-lock.json changes.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

FROM ${NODE_IMAGE}
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000
WORKDIR /app
# The whole app dir is kept, not only dist/: the worker bundles src/workflows at start-up, and the
# migrator reads migrations/ next to the compiled code.
COPY --from=build --chown=node:node /app /app
USER node
EXPOSE 3000
CMD ["node", "dist/src/receiver/main.js"]
