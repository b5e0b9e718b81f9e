# RabbitMQ from Debian's packages on the offline base, for `make compose-check`
# only. Takes the official image's RABBITMQ_DEFAULT_USER / RABBITMQ_DEFAULT_PASS.
ARG BASE_IMAGE=debian:bookworm-slim
FROM ${BASE_IMAGE}

# Debian's current bookworm packages, like the base made from the same mirror: not pinned.
# hadolint ignore=DL3008
RUN apt-get update -q \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends rabbitmq-server \
    && rm -rf /var/lib/apt/lists/*

COPY rabbitmq-entrypoint.sh /usr/local/bin/rabbitmq-entrypoint
EXPOSE 5672
ENTRYPOINT ["/usr/local/bin/rabbitmq-entrypoint"]
