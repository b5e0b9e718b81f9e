"""Messages: the one entry point for a visitor-side message (append.py), storing a message and
its event (store.py), agent replies (service.py), sending e-mail and Messenger replies after
commit (delivery.py), and their SQL (repository.py)."""
