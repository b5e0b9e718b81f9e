#!/usr/bin/env bash
# `make install` without uv: uv from PyPI (the version uv.lock was made with) into ~/.local/bin,
# with pip if this Python lets it install for the user, else in a virtualenv of its own (a
# Debian Python refuses `pip install --user`; as root, python3-venv is installed if missing).
set -euo pipefail
UV_VERSION=0.13.9
command -v uv >/dev/null 2>&1 && exit 0
[ -x "$HOME/.local/bin/uv" ] && exit 0
echo "install: uv not found: installing uv $UV_VERSION from PyPI into ~/.local/bin"
python3 -m pip install --quiet --user "uv==$UV_VERSION" 2>/dev/null && exit 0  # uv and uvx
if ! python3 -c 'import ensurepip' 2>/dev/null && [ "$(id -u)" -eq 0 ]; then
    echo "install: python3-venv (Debian package) for uv's virtualenv"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null 2>&1 || {
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
    }
fi
python3 -m venv "$HOME/.local/share/uv-venv"
"$HOME/.local/share/uv-venv/bin/pip" install --quiet --disable-pip-version-check "uv==$UV_VERSION"
mkdir -p "$HOME/.local/bin"
ln -sf "$HOME/.local/share/uv-venv/bin/uv" "$HOME/.local/bin/uv"
ln -sf "$HOME/.local/share/uv-venv/bin/uvx" "$HOME/.local/bin/uvx"
