# Redis from Debian's packages on the offline base, for `make compose-check` only.
ARG BASE_IMAGE=debian:bookworm-slim
FROM ${BASE_IMAGE}

RUN apt-get update -q \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends redis-server \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /var/lib/redis
USER redis
EXPOSE 6379
CMD ["redis-server", "--save", "", "--appendonly", "no"]
