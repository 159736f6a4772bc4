"""The queue: enqueueing a request once, cancelling, parking a question."""
