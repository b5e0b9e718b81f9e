"""The visitor's chat box: its messages, current conversation, contact form, rating, typing."""
