"""Events the bots service emits: written to its outbox in the same transaction as the change."""

from __future__ import annotations

from parley_bots.models import Base
from parley_common.events.outbox import Outbox

outbox = Outbox(Base.metadata)
