"""Outbound OCPI: the HTTP sender, the OCPI client, the outbox pusher. Nothing here imports falcon."""
