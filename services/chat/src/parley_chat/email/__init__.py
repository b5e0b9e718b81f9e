"""The e-mail channel: signed reply addresses, outgoing replies and transcripts, the inbound
SMTP receiver for the visitor's answers."""
