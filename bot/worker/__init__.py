"""The worker: its process, its jobs, the pre-flight check, the answer, late delivery."""
