"""Property-based fuzzing of every unary RPC against one real in-process server (the tests:
tests/api/test_fuzz.py).

The RPCs are discovered from the service descriptors of the generated `*_pb2_grpc`
modules, so a new unary RPC is fuzzed as soon as it is in the contract. Requests are
built generically from the request descriptor: each field is unset or drawn from a
strategy for its type -- hostile strings (huge, NUL, control, RTL, astral, SQL- and
path-ish junk, forged page tokens), ids of real objects created at setup so that deep
paths are reached, extreme ints, unknown enum numbers, huge repeated fields,
out-of-range timestamps.

Every RPC first gets a deterministic sweep of seeds (a plausible request, then that
request with one field at a time set to each known-nasty value of its type), then
`MAX_EXAMPLES` Hypothesis draws (derandomized, so CI is reproducible).

The property: a call succeeds, or fails with a code that is neither INTERNAL nor UNKNOWN
and carries a google.rpc.Status with an ErrorInfo -- except RESOURCE_EXHAUSTED raised by
gRPC itself for a request over the server's 1 MiB receive limit, which has no status.
Afterwards the server still reports SERVING and still publishes.

Hypothesis drives sync test functions; the server, the emulators and the channel live on
an event loop in a background thread for the whole module (function-scoped async fixtures
and @given do not mix).
"""

