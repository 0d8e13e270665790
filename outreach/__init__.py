"""车主秘书: reminders that go out first (renewal, inspection, weather, violations, claim
documents), planned from rules as data, merged, capped, queued to an outbox and delivered through
channel webhooks with retries."""
