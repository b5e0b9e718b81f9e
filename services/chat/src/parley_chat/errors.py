"""The chat service's domain errors (rendered as problem+json by parley_common)."""

from __future__ import annotations

from parley_common.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound


class ConversationNotFound(NotFound):
    code, title = "conversation_not_found", "Conversation not found"


class AttachmentNotFound(NotFound):
    code, title = "attachment_not_found", "Attachment not found"


class ShortcutNotFound(NotFound):
    code, title = "shortcut_not_found", "Shortcut not found"


class VisitorNotFound(NotFound):
    code, title = "visitor_not_found", "Visitor not found"


class AgentNotFound(NotFound):
    code, title = "agent_not_found", "Agent not found"


class VisitorBlocked(Forbidden):
    code, title = "visitor_blocked", "This visitor is blocked"


class ShortcutNameTaken(Conflict):
    code, title = "shortcut_name_taken", "A shortcut with this name already exists"


class VisitorHasNoEmail(Conflict):
    code, title = "visitor_has_no_email", "The visitor has no e-mail address"


class VisitorHasOpenConversation(Conflict):
    code, title = "visitor_has_open_conversation", "The visitor already has an open conversation"


class AlreadyRated(Conflict):
    code, title = "already_rated", "This conversation has already been rated"


class RatingNotRequested(Conflict):
    code, title = "rating_not_requested", "No rating was requested for this conversation"


class ConversationNotResolved(Conflict):
    code, title = "conversation_not_resolved", "The conversation is not resolved"


class ConversationNotOpen(Conflict):
    code, title = "conversation_not_open", "The conversation is already resolved"


class EmptyMessage(InvalidInput):
    code, title = "empty_message", "A message needs text or an attachment"


class MessageTooLong(InvalidInput):
    code, title = "message_too_long", "The message is too long"


class AttachmentInvalid(InvalidInput):
    code, title = "attachment_invalid", "Attachment cannot be used"


class InvalidFilter(InvalidInput):
    code, title = "invalid_filter", "A list filter is not valid"


class InvalidRange(InvalidInput):
    code, title = "invalid_range", "The date range is not valid"


class MailFailed(DomainError):
    status, code, title = 502, "mail_failed", "The e-mail could not be sent"
