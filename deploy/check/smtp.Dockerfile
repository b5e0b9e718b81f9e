# Stands in for Mailpit in `make compose-check`: an SMTP server on :1025 that
# accepts every message and prints it (Debian's python3-aiosmtpd).
ARG BASE_IMAGE=debian:bookworm-slim
FROM ${BASE_IMAGE}

# Debian's current bookworm packages, like the base made from the same mirror: not pinned.
# hadolint ignore=DL3008
RUN apt-get update -q \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends python3-aiosmtpd \
    && rm -rf /var/lib/apt/lists/*

USER 65534
EXPOSE 1025
CMD ["python3", "-m", "aiosmtpd", "-n", "-l", "0.0.0.0:1025"]
