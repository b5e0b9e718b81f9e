# PostgreSQL from Debian's packages on the offline base, for `make compose-check`
# only (operators use the public postgres image of docker-compose.yml).
# Takes the official image's POSTGRES_USER / POSTGRES_PASSWORD / POSTGRES_DB.
ARG BASE_IMAGE=debian:bookworm-slim
FROM ${BASE_IMAGE}

SHELL ["/bin/bash", "-o", "pipefail", "-c"]
# No "main" cluster from the package: the entrypoint makes one in the volume.
# Debian's current bookworm packages, like the base made from the same mirror: not pinned.
# hadolint ignore=DL3008
RUN mkdir -p /etc/postgresql-common/createcluster.d \
    && echo "create_main_cluster = false" >/etc/postgresql-common/createcluster.d/no-main.conf \
    && apt-get update -q \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends postgresql-15 \
    && rm -rf /var/lib/apt/lists/* \
    && install -d -o postgres -g postgres -m 0700 /var/lib/postgresql/data \
    && install -d -o postgres -g postgres -m 2775 /run/postgresql

COPY postgres-entrypoint.sh /usr/local/bin/postgres-entrypoint
ENV PATH="/usr/lib/postgresql/15/bin:${PATH}" PGDATA=/var/lib/postgresql/data
EXPOSE 5432
ENTRYPOINT ["/usr/local/bin/postgres-entrypoint"]
