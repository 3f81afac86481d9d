# One image for the api and the worker (docker-compose.yml picks the command).
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
# Scripts are skipped because `prepare` builds, and the sources are not in the image yet.
RUN npm ci --ignore-scripts
COPY . .
# `npm run build` builds the API and, where web/ exists, the dashboard into dist/web (served by
# the API at /); a dashboard that did not build fails the image instead of shipping without it.
RUN npm run build && if [ -d web ]; then test -f dist/web/index.html; fi

FROM node:20-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts

FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
# The API, the worker, the CLI and the dashboard's static files (dist/web).
COPY --from=build /app/dist ./dist
# Read at run time: migrations/*.sql, projections/*/schema.sql, and package.json marks the root.
COPY package.json ./
COPY bin ./bin
COPY migrations ./migrations
COPY projections ./projections
# DATA_DIR (the settle journal of a Postgres outage): a volume mounted here starts owned by node.
RUN mkdir -p /var/lib/tollgate && chown node:node /var/lib/tollgate
ENV DATA_DIR=/var/lib/tollgate
USER node
EXPOSE 3000
CMD ["node", "--max-semi-space-size=16", "--heap-growing-percent=20", "dist/src/main.js"]
