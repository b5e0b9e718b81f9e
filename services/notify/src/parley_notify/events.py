"""Events the notify service emits: written to its outbox in the same transaction as the change."""

from __future__ import annotations

from parley_common.events.outbox import Outbox
from parley_notify.models import Base

outbox = Outbox(Base.metadata)
