"""HTTP routes of the bots service."""

from __future__ import annotations

from fastapi import APIRouter

from parley_bots import service
from parley_bots.errors import (
    AutomaticMessageNotFound,
    ChatbotNotFound,
    InvalidChatbotSteps,
    PlanLimitReached,
)
from parley_bots.models import AUTOMATIC_MESSAGE, CHATBOT
from parley_bots.routes import internal, stats
from parley_bots.routes.bots import BotKind, bot_router
from parley_bots.schemas import (
    AutomaticMessageIn,
    AutomaticMessageList,
    AutomaticMessageOut,
    AutomaticMessagePatch,
    ChatbotIn,
    ChatbotList,
    ChatbotOut,
    ChatbotPatch,
)
from parley_common.errors import InvalidInput

# Automatic messages: a trigger and one message the bot writes to matching visitors.
AUTOMATIC_MESSAGES = BotKind(
    kind=AUTOMATIC_MESSAGE,
    path="automatic-messages",
    one="automatic message",
    many="automatic messages",
    article="an",
    out=AutomaticMessageOut,
    page=AutomaticMessageList,
    create_in=AutomaticMessageIn,
    patch_in=AutomaticMessagePatch,
    create=service.create_automatic_message,
    update=service.update_automatic_message,
    not_found=AutomaticMessageNotFound,
    update_errors=(InvalidInput,),
)
# Chatbots: a trigger and a small flow of steps with quick-reply buttons.
CHATBOTS = BotKind(
    kind=CHATBOT,
    path="chatbots",
    one="chatbot",
    many="chatbots",
    article="a",
    out=ChatbotOut,
    page=ChatbotList,
    create_in=ChatbotIn,
    patch_in=ChatbotPatch,
    create=service.create_chatbot,
    update=service.update_chatbot,
    not_found=ChatbotNotFound,
    create_errors=(InvalidChatbotSteps, PlanLimitReached),
    update_errors=(InvalidChatbotSteps, PlanLimitReached),
)

ROUTERS: list[APIRouter] = [
    bot_router(AUTOMATIC_MESSAGES),
    bot_router(CHATBOTS),
    stats.router,
    internal.router,
]
