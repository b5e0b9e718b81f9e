"""The chat box (widget.js) and the live demo page."""
