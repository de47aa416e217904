# syntax=docker/dockerfile:1
# Build: type-check, then bundle src/main.ts and its dependencies into dist/main.cjs
# (scripts/bundle.mjs, ADR 0011). The runtime image needs no node_modules.
FROM node:22.23.3-bookworm-slim AS build
# /app, as at run time: Node keys compile-cache entries by the bundle's absolute path.
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm install --no-audit --no-fund --ignore-scripts
COPY tsconfig.json ./
COPY scripts/bundle.mjs scripts/warm-compile-cache.mjs ./scripts/
COPY charts/certroute/values.yaml ./charts/certroute/
COPY src ./src
RUN npx tsc -p tsconfig.json --noEmit && node scripts/bundle.mjs
# V8's code cache for the bundle, made with the chart's default nodeOptions and with none, on
# the same Node binary as the runtime stage (ADR 0013: about 0.4 s less CPU at start-up).
RUN node scripts/warm-compile-cache.mjs dist/main.cjs compile-cache

# Runtime: no npm, no build tools, non-root; works with a read-only root filesystem.
FROM node:22.23.3-bookworm-slim
# glibc malloc: two arenas, and buffers of 64 KiB and up (API responses) mmap'd and returned
# when freed, so the start-up lists leave no fragmented heap behind (ADR 0011: about 20 MB of
# RSS at rest on the 5,000-Ingress benchmark). The benchmarks read these lines.
ENV NODE_ENV=production
ENV MALLOC_ARENA_MAX=2
ENV MALLOC_MMAP_THRESHOLD_=65536
ENV MALLOC_TRIM_THRESHOLD_=65536
# Read only: a start under other V8 flags compiles as before (ADR 0013).
ENV NODE_COMPILE_CACHE=/app/compile-cache
WORKDIR /app
COPY --from=build /app/dist ./dist
COPY --from=build /app/compile-cache ./compile-cache
RUN rm -rf /usr/local/lib/node_modules/npm /usr/local/bin/npm /usr/local/bin/npx
USER 65532:65532
EXPOSE 8080 8081 8089
# Node flags that NODE_OPTIONS does not accept would go between "node" and the bundle; the
# benchmarks read this line (ADR 0012).
ENTRYPOINT ["node", "dist/main.cjs"]
