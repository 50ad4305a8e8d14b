"""The publish workflow: checkpointed steps per platform, and the runner that owns them."""
