"""HTTP API for the self-service chatbot and the human handoff queue.

``api.app.create_app`` builds the FastAPI application over a ``services.root.Services``;
``api.schemas`` is everything that goes over the wire; ``api.errors`` turns PolicyDesk errors
into one JSON error shape; ``api.middleware`` holds the body-size limit and the last-resort 500.
"""
