"""The visitors service's domain errors (rendered as problem+json by parley_common)."""

from __future__ import annotations

from parley_common.errors import Forbidden, NotFound


class WidgetKeyNotFound(NotFound):
    code, title = "widget_key_not_found", "No chat box has this widget key"


class OriginNotAllowed(Forbidden):
    code, title = "origin_not_allowed", "This website is not allowed to use the chat box"


class VisitorNotFound(NotFound):
    code, title = "visitor_not_found", "Visitor not found"
