"""Shortcuts: saved replies agents insert with variables."""
