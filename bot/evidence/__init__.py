"""The incident evidence log: one durable, append-only entry per query run in a channel (`/flow evidence`)."""
