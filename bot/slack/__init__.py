"""Slack Web API: answers, status messages, pages, pacing, installations."""
