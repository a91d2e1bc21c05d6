"""The worker: claims jobs from Redis and runs them in Firejail, streaming events back."""
