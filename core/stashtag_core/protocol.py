"""What client and server agree on beyond the model specs: the key header and priorities."""

KEY_HEADER = "stashtag-key"
# Triton reads restricted-protocol keys of gRPC calls from this prefixed metadata key.
GRPC_KEY_HEADER = f"triton-grpc-protocol-{KEY_HEADER}"
KEY_ENV = "STASHTAG_SERVER_KEY"
TLS_CA_ENV = "STASHTAG_TLS_CA"

# Priority levels of the frame models' queues: interactive requests (hooks, searches) are
# served before bulk jobs from other Stash instances; a request without one counts as bulk.
PRIORITY_INTERACTIVE = 1
PRIORITY_BULK = 2
PRIORITY_LEVELS = 2
