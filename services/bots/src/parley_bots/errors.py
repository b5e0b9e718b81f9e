"""The bots service's domain errors (rendered as problem+json by parley_common)."""

from __future__ import annotations

from parley_common.errors import Forbidden, InvalidInput, NotFound


class AutomaticMessageNotFound(NotFound):
    code, title = "automatic_message_not_found", "Automatic message not found"


class ChatbotNotFound(NotFound):
    code, title = "chatbot_not_found", "Chatbot not found"


class InvalidChatbotSteps(InvalidInput):
    code, title = "invalid_chatbot_steps", "The chatbot's steps do not form a valid flow"


class InvalidRange(InvalidInput):
    code, title = "invalid_range", "The date range is not valid"


class PlanLimitReached(Forbidden):
    code, title = "plan_limit_reached", "Your plan does not allow more active chatbots"
