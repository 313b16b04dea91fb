"""Thin Falcon resources: decode the request, call the store, answer through the envelope."""
