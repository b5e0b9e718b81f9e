"""The visitors service's tables (schema `visitors`)."""

from __future__ import annotations

from parley_common.db import declarative_base

Base = declarative_base("visitors")
