# syntax=docker/dockerfile:1
# Build: type-check, then bundle src/main.ts and its dependencies into dist/main.js
# (scripts/bundle.mjs, ADR 0011). The runtime image needs no node_modules.
FROM node:22.23.3-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm install --no-audit --no-fund --ignore-scripts
COPY tsconfig.json ./
COPY scripts/bundle.mjs ./scripts/
COPY src ./src
RUN npx tsc -p tsconfig.json --noEmit && node scripts/bundle.mjs

# Runtime: no npm, no build tools, non-root; works with a read-only root filesystem.
FROM node:22.23.3-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /src/dist ./dist
# "type": "module": dist/main.js is an ES module.
COPY package.json ./
RUN rm -rf /usr/local/lib/node_modules/npm /usr/local/bin/npm /usr/local/bin/npx
USER 65532:65532
EXPOSE 8080 8081 8089
ENTRYPOINT ["node", "dist/main.js"]
