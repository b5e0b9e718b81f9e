"""The auth service's tables (schema `auth`)."""

from __future__ import annotations

from parley_common.db import declarative_base

Base = declarative_base("auth")
