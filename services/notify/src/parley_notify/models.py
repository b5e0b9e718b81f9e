"""The notify service's tables (schema `notify`)."""

from __future__ import annotations

from parley_common.db import declarative_base

Base = declarative_base("notify")
