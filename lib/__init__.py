"""Shared code of the gateway and the worker: configuration, wire protocol, Redis layout."""
