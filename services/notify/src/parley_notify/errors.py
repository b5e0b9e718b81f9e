"""The notify service's domain errors (problem+json with these codes)."""

from __future__ import annotations

from parley_common.errors import InvalidInput, NotFound


class DeviceNotFound(NotFound):
    code, title = "device_not_found", "No such device"


class WebhookNotFound(NotFound):
    code, title = "webhook_not_found", "No such webhook"


class WebhookUrlRefused(InvalidInput):
    code, title = "webhook_url_refused", "The webhook URL cannot be used"
