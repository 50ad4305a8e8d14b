"""Platform adapters: one HTTP client per platform, speaking its documented API and nothing else."""
