"""Jobs: the runner (queue, stages, progress, cancellation, recovery) and webhooks."""
