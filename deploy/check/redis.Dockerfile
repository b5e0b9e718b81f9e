# Redis from Debian's packages on the offline base, for `make compose-check` only.
ARG BASE_IMAGE=debian:bookworm-slim
FROM ${BASE_IMAGE}

# Debian's current bookworm packages, like the base made from the same mirror: not pinned.
# hadolint ignore=DL3008
RUN apt-get update -q \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends redis-server \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /var/lib/redis
# The package's system user (its uid is given at install time).
# hadolint ignore=DL3066
USER redis
EXPOSE 6379
CMD ["redis-server", "--save", "", "--appendonly", "no"]
