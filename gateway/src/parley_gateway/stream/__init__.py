"""The stream: one lossless, resumable websocket per client (agents and visitors).

- ``sequencer``: the one competing consumer that numbers events per account in Redis.
- ``hub``: every gateway process's Redis subscriber, fanning frames out to its sockets.
- ``subscriber``: one socket's position (epoch, seq), its bounded send queue and its filter.
- ``routes``: the websocket endpoints and stream tickets.
"""
