"""Facebook Messenger: a page connected to an account, its webhook, and agent replies.

A Messenger user writing to the page becomes a chat visitor (keyed by page id + PSID) with
conversations on channel "facebook"; an agent's reply there goes out through the Graph API.
"""
