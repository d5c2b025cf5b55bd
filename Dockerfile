# One image for the three services; docker-compose.yml picks the command.
# Node 22 LTS (20 reached its end of life in April 2026); the code also runs on Node 20.19.
FROM node:22-bookworm-slim AS build
WORKDIR /app
# better-sqlite3 builds from source; puppeteer must never download a browser.
ENV PUPPETEER_SKIP_DOWNLOAD=true
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ \
  && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json .puppeteerrc.cjs ./
COPY packages/shared/package.json packages/shared/
COPY services/api/package.json services/api/
COPY services/session-runner/package.json services/session-runner/
COPY services/sync-workers/package.json services/sync-workers/
RUN npm ci --no-audit --no-fund
COPY tsconfig.base.json tsconfig.json ./
COPY packages packages
COPY services services
RUN npm run build && npm prune --omit=dev

FROM node:22-bookworm-slim
# Chromium is used by the session runner with WA_ENGINE=webjs (CHROME_PATH=/usr/bin/chromium).
RUN apt-get update && apt-get install -y --no-install-recommends chromium ca-certificates \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production PUPPETEER_SKIP_DOWNLOAD=true
COPY --from=build /app ./
# The session runners' auth volume mounts here: created owned by node, a new named volume keeps that.
RUN mkdir -p /data/auth /data/media && chown -R node:node /data
USER node
CMD ["node", "services/api/dist/main.js"]
