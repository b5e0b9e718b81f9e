"""Errors of the Facebook integration (problem+json with these codes)."""

from __future__ import annotations

from parley_common.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound


class FacebookNotConnected(NotFound):
    code, title = "facebook_not_connected", "No Facebook page is connected"


class FacebookPageTaken(Conflict):
    code, title = "facebook_page_taken", "This page is connected to another account"


class FacebookPageInvalid(InvalidInput):
    code, title = "facebook_page_invalid", "Facebook refused the page id or access token"


class FacebookUnavailable(DomainError):
    status, code, title = 502, "facebook_unavailable", "Facebook could not be reached"


class FacebookSendFailed(DomainError):
    status, code, title = 502, "facebook_send_failed", "Facebook did not deliver the message"


class FacebookPageDisconnected(Conflict):
    code, title = (
        "facebook_page_disconnected",
        "The conversation's Facebook page is no longer connected",
    )


class FacebookAttachmentsUnsupported(InvalidInput):
    code, title = (
        "facebook_attachments_unsupported",
        "Attachments cannot be sent to Messenger; send text",
    )


class InvalidSignature(Forbidden):
    code, title = "invalid_signature", "The webhook signature is missing or wrong"


class VerificationFailed(Forbidden):
    code, title = "verification_failed", "The webhook verify token does not match"


class InvalidPayload(InvalidInput):
    code, title = "invalid_payload", "The webhook payload is not a Messenger event"
