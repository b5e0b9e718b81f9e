"""The chat service's tables (schema `chat`)."""

from __future__ import annotations

from parley_common.db import declarative_base

Base = declarative_base("chat")
