# Stands in for Mailpit in `make compose-check`: an SMTP server on :1025 that
# accepts every message and prints it (Debian's python3-aiosmtpd).
ARG BASE_IMAGE=debian:bookworm-slim
FROM ${BASE_IMAGE}

RUN apt-get update -q \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends python3-aiosmtpd \
    && rm -rf /var/lib/apt/lists/*

USER nobody
EXPOSE 1025
CMD ["python3", "-m", "aiosmtpd", "-n", "-l", "0.0.0.0:1025"]
