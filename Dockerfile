# redis_sentinel_exporter container image.
#
#   docker build --build-arg REVISION="$(git rev-parse --short=12 HEAD)" -t redis-sentinel-exporter .
#   docker run --rm -p 9355:9355 -e REDIS_SENTINEL_HOSTS=sentinel-1:26379 \
#     -e REDIS_SENTINEL_MASTER=aragora-master --env-file redis-password.env redis-sentinel-exporter
#
# Configuration: the binary's own flags (arguments after the image name) and its environment
# variables REDIS_SENTINEL_HOSTS, REDIS_SENTINEL_MASTER and REDIS_PASSWORD; or mount a password
# file (readable by uid 10001) and set REDIS_PASSWORD_FILE or pass --redis.password-file=/path. HEALTHCHECK_PORT: the port of a non-default
# --web.listen-address, for the HEALTHCHECK.
#
# Build stage: the project's one dependency list (scripts/packages.txt through
# scripts/install-deps.sh). Runtime stage: only packaging/runtime-packages.txt, the list the
# .deb's Depends is made from too. Checked without a Docker engine by deploy/check-dockerfile.sh.

ARG DEBIAN_IMAGE=debian:12-slim

FROM ${DEBIAN_IMAGE} AS build
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
WORKDIR /src
COPY scripts/install-deps.sh scripts/packages.txt scripts/
RUN bash scripts/install-deps.sh && rm -rf /var/lib/apt/lists/*
COPY . .
# REVISION: the git revision for --version (the build context has no .git). RelWithDebInfo
# (-O2, the project's default; --strip drops the debug info): GCC 12 at -O3 reports a false
# -Wrestrict in std::string code, and the build uses -Werror.
ARG REVISION=""
RUN cmake -S . -B /build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRSE_BUILD_TESTS=OFF \
      "-DRSE_REVISION=${REVISION:-unknown}" \
 && cmake --build /build --parallel "$(nproc)" \
 && DESTDIR=/out cmake --install /build --prefix /usr --strip \
 && /out/usr/bin/redis_sentinel_exporter --version

FROM ${DEBIAN_IMAGE}
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
COPY packaging/runtime-packages.txt /tmp/runtime-packages.txt
RUN apt-get update -qq \
 && sed -e 's/#.*//' /tmp/runtime-packages.txt | xargs --no-run-if-empty \
      apt-get install -y -qq --no-install-recommends \
 && rm -rf /var/lib/apt/lists/* /tmp/runtime-packages.txt \
 && groupadd --gid 10001 exporter \
 && useradd --uid 10001 --gid exporter --no-create-home --no-log-init --home-dir /nonexistent \
      --shell /usr/sbin/nologin exporter
# The binary, plus the rule file and dashboard under /usr/share/redis-sentinel-exporter/ (the
# install rules of packaging/cpack.cmake).
COPY --from=build /out/usr/ /usr/
COPY packaging/docker-healthcheck.sh /usr/local/bin/healthcheck

ARG VERSION=""
ARG REVISION=""
ARG CREATED=""
ARG SOURCE=""
LABEL org.opencontainers.image.title="redis_sentinel_exporter" \
      org.opencontainers.image.description="Prometheus exporter for Redis Sentinel topologies: point it at one Sentinel, it discovers and scrapes every master, replica and Sentinel behind it." \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.base.name="docker.io/library/debian:12-slim" \
      org.opencontainers.image.source="${SOURCE}"

USER 10001:10001
EXPOSE 9355
ENV HEALTHCHECK_PORT=9355
HEALTHCHECK --interval=30s --timeout=5s --start-period=10s --retries=3 \
  CMD ["/bin/bash", "/usr/local/bin/healthcheck"]
ENTRYPOINT ["/usr/bin/redis_sentinel_exporter"]
CMD ["--web.listen-address=:9355"]
