"""App Store billing errors (problem+json through parley_common)."""

from __future__ import annotations

from parley_common.errors import DomainError, InvalidInput, NotFound


class AppStoreVerificationFailed(DomainError):
    status, code = 400, "app_store_verification_failed"
    title = "The signed App Store data could not be verified"


class AppStoreUnavailable(DomainError):
    status, code = 503, "app_store_unavailable"
    title = "App Store verification is not available right now; retry later"


class AppStoreTransactionNotFound(NotFound):
    code, title = "app_store_transaction_not_found", "No such App Store transaction"


class AppAccountTokenMissing(InvalidInput):
    code = "app_account_token_missing"
    title = "The purchase carries no appAccountToken; set it to the account id when buying"
