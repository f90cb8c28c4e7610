"""Broker accounts as an application service: linking, the credential vault, login flows, health."""
