"""The checkpointed publish workflows, the runner that owns them, and the reconciler."""
