"""Order services: submit exactly once, resolve unknown outcomes, ingest broker events, reconcile."""
