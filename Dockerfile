# syntax=docker/dockerfile:1
# The base of both stages (ADR 0016): an image with Node 22 at /usr/local/bin/node and npm beside
# it. The default is the official Node 22 image on Debian bookworm, slim variant, pinned by its
# digest, so that a re-pointed tag cannot change what is built; the tag is there for people.
# The digest was not checked against a registry when it was pinned (none is reachable where this
# project is developed): several unrelated public projects pin this tag to it, one recording a
# pull whose RepoDigests matched. Check it before a release, and refresh it with the tag:
#   docker buildx imagetools inspect node:22.23.3-bookworm-slim   (the "Digest:" line)
# The lab builds on a base of its own with the same layout (scripts/image.sh base).
ARG BASE_IMAGE=node:22.23.3-bookworm-slim@sha256:43ac6c60b8f89723f746e8a92ce91abd5017e627ce1ddfe4238355d3a30b772c

# Build: install from the lockfile, type-check, then bundle src/main.ts and its dependencies
# into dist/main.cjs, and the CLI into dist/cli.mjs (scripts/bundle.mjs, ADR 0011, 0030). The
# runtime image needs no node_modules.
FROM ${BASE_IMAGE} AS build
# /app, as at run time: Node keys compile-cache entries by the bundle's absolute path.
WORKDIR /app
COPY package.json package-lock.json ./
# Exactly the lockfile, or fail. The dev dependencies are the build's tools (tsc, esbuild); no
# install script is needed (esbuild's binary comes as its platform's optional dependency). A CA
# the registry's certificate chains to, where Node does not ship it (a TLS-inspecting proxy), can
# be passed as the build secret "npm-ca"; it never lands in a layer.
RUN --mount=type=secret,id=npm-ca,target=/run/secrets/npm-ca \
    if [ -s /run/secrets/npm-ca ]; then export NODE_EXTRA_CA_CERTS=/run/secrets/npm-ca; fi \
    && npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json ./
COPY scripts/bundle.mjs scripts/warm-compile-cache.mjs ./scripts/
COPY charts/certroute/values.yaml ./charts/certroute/
COPY src ./src
RUN npx tsc -p tsconfig.json --noEmit && node scripts/bundle.mjs
# V8's code cache for the bundle, made with the chart's default nodeOptions and with none, on
# the same Node binary as the runtime stage (ADR 0013: about 0.4 s less CPU at start-up).
RUN node scripts/warm-compile-cache.mjs dist/main.cjs compile-cache

# Runtime: the bundle and its code cache on the same base; no npm, no build tools, non-root;
# works with a read-only root filesystem (it writes nothing).
FROM ${BASE_IMAGE}
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
# Package managers are not needed at run time (the official images also carry yarn and corepack).
# The kubectl plugin (dist/cli.mjs, docs/cli.md): `kubectl exec ... -- kubectl-certroute check`.
RUN rm -rf /usr/local/lib/node_modules /usr/local/bin/npm /usr/local/bin/npx \
    /usr/local/bin/corepack /usr/local/bin/yarn /usr/local/bin/yarnpkg /opt/yarn-* \
    && ln -s /app/dist/cli.mjs /usr/local/bin/kubectl-certroute
USER 65532:65532
EXPOSE 8080 8081 8089
# Node flags that NODE_OPTIONS does not accept would go between "node" and the bundle; the
# benchmarks read this line (ADR 0012).
ENTRYPOINT ["node", "dist/main.cjs"]
CMD []
