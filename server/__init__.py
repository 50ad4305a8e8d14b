"""Distribution: a gRPC service that publishes carousels to Instagram and TikTok."""
