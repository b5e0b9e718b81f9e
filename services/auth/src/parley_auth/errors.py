"""The auth service's domain errors (rendered as problem+json by parley_common)."""

from __future__ import annotations

from parley_common import revocation
from parley_common.errors import Conflict, Forbidden, InvalidInput, NotFound, Unauthorized


class InvalidCredentials(Unauthorized):
    code, title = "invalid_credentials", "The e-mail or password is wrong"


class InvalidRefreshToken(Unauthorized):
    code, title = "invalid_refresh_token", "The refresh token is not valid; log in again"


class RefreshTokenReused(Unauthorized):
    code, title = "refresh_token_reused", "This refresh token was already used; the session ended"
    keeps_changes = True  # the revoked family and its event are committed with the 401


SessionRevoked = revocation.SessionRevoked


class WrongPassword(Forbidden):
    code, title = "wrong_password", "The password is wrong"


class EmailTaken(Conflict):
    code, title = "email_taken", "An agent with this e-mail already exists"


class AgentNotFound(NotFound):
    code, title = "agent_not_found", "No such agent"


class InvitationNotFound(NotFound):
    code, title = "invitation_not_found", "The invitation does not exist, expired or was used"


class AgentLimitReached(Forbidden):
    code, title = "agent_limit_reached", "The plan's agent limit is reached; upgrade to add more"


class LastOwner(Conflict):
    code, title = "last_owner", "The account needs at least one owner"


class OwnerOnly(Forbidden):
    code, title = "owner_only", "Only an owner can do this"


class AdminOnly(Forbidden):
    code, title = "admin_only", "Only the account's owner or an admin can do this"


class InvalidImage(InvalidInput):
    code, title = "invalid_image", "The file is not a PNG, JPEG or WebP image"


class AvatarNotFound(NotFound):
    code, title = "avatar_not_found", "No such avatar"


class ApiKeyNotFound(NotFound):
    code, title = "api_key_not_found", "No such API key"
