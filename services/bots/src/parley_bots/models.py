"""The bots service's tables (schema `bots`)."""

from __future__ import annotations

from parley_common.db import declarative_base

Base = declarative_base("bots")
