"""Email: the port the lifecycle sends through, its SendGrid and file adapters, the
transactional outbox, templates, marketing opt-out and the event webhook."""
