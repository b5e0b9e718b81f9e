"""Messages: the one way a visitor-side message enters a conversation (``append``)."""
