"""Thin tornado handlers: parse, call a service off the event loop, serialize, map errors."""
