"""Adapters: translate a transport to and from the assistant's `Inbound` / `Reply`."""
