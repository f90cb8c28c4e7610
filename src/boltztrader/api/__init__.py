"""The HTTP service: FastAPI app factory, routes and schemas."""
