# btfwatch service image: `btfwatch api` / `btfwatch worker` / `btfwatch serve`.
FROM node:20-bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends xz-utils zstd lz4 bzip2 ca-certificates debian-archive-keyring python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
COPY libs ./libs
COPY apps ./apps
COPY tsconfig.json tsconfig.base.json openapi.yaml ./
COPY migrations ./migrations
COPY test/tsconfig.json ./test/tsconfig.json
COPY bench/tsconfig.json ./bench/tsconfig.json
RUN npm ci && npx tsc -b apps/cli && npm prune --omit=dev
ENV HOST=0.0.0.0 PORT=8080 DATA_DIR=/data NODE_ENV=production
VOLUME /data
EXPOSE 8080
ENTRYPOINT ["node", "apps/cli/bin/btfwatch.mjs"]
CMD ["serve"]
