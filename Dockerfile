# syntax=docker/dockerfile:1
# The listener-operator image: `node /app/dist/main.js crd | run controller | run node`.
#
#   docker build -t localhost/listener-operator:0.1.0 .
#
# Three stages: `build` bundles the TypeScript (npm ci, npm run build), `deps` installs the
# production dependencies only, and the runtime stage holds Node.js, those dependencies, dist/ and
# proto/ (the CSI protocol definition, loaded at run time), and nothing to build or install with.
# Not built on the project's machines (they have no container engine): see docs/packaging.md.

# The Node.js the project pins (package.json's `node` dev dependency; a test keeps them equal).
ARG NODE_VERSION=26.10.0

FROM node:${NODE_VERSION}-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
# Scripts skipped: `prepare` would compile before the sources are here, and the `node` dev
# dependency would download a second Node.js; the image's own Node.js runs the compiler.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY scripts/stamp-build.ts scripts/build-dist.ts ./scripts/
COPY src ./src
# Bundles src/ into dist/main.js (scripts/build-dist.ts; docs/benchmark.md says why), and stamps the
# build time (dist/build-info.json: the end-of-support check counts from it).
RUN npm run build

FROM node:${NODE_VERSION}-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund

FROM node:${NODE_VERSION}-slim
# No package manager in the final image: the operator installs nothing at run time.
RUN rm -rf /usr/local/lib/node_modules /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack /opt/yarn-* /usr/local/bin/yarn /usr/local/bin/yarnpkg
WORKDIR /app
# Memory (docs/benchmark.md): two malloc arenas instead of one per thread, large blocks mapped and
# returned to the system when freed, and V8 tuned for size (a small young generation, slower heap
# growth; --lite-mode: no optimizing compilers, whose code and zones cost about 19 MiB resident).
ENV NODE_ENV=production MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=65536 MALLOC_TRIM_THRESHOLD_=131072
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /src/dist ./dist
COPY package.json ./
COPY proto ./proto
# An unprivileged default user (the image's `node`, uid 1000); the Helm chart runs the node
# service as root, without capabilities, where it must write into the kubelet's directories.
USER 1000:1000
ENTRYPOINT ["node", "--optimize-for-size", "--lite-mode", "/app/dist/main.js"]
CMD ["--help"]
