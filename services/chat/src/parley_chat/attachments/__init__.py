"""Attachments: uploads (streamed, type-checked), claiming them on a message, downloads."""
