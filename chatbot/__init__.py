"""Self-service chatbot: intents, grounded answers, routing and handoff to humans."""
