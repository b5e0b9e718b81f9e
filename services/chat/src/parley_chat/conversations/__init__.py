"""Conversations: the agent's list and view, opening, joining, assigning, resolving, typing."""
