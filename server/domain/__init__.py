"""Domain layer: rules, the publish workflow and its states. Knows nothing of gRPC or protos."""
