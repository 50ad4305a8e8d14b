"""The one testing package: what tests, bench/ and the soak share.

- `processes`: the service (`python -m server`) and the emulators
  (`python -m server.sandbox.<platform>`) as child processes, and `free_port()`.
- `inprocess`: the same, in the test's own event loop (`server.app.start_service`, the
  emulators' classes), and the use cases without their gRPC transport (`open_core`).
- `settings`: the fast schedules that match emulators with short delays.
- `client`: the gRPC calls tests share (connect an account, register media, image URLs).
- `errors`: the google.rpc.Status a failed call carries, read as a client reads it.
- `fixtures`: pytest fixtures over the above; each layer's conftest imports the ones it uses.
- `fuzz`: RPC discovery, Hypothesis strategies, seeds and the property for the API fuzz tests.
- `tools`: outside tools (grpcurl, buf, node, bash) run against a service.
- `postgres`: a fresh PostgreSQL database per test (skipped where none answers).
- `tls`: a throwaway CA, server and client certificates.
- `paths`: where the checkout, grpcurl and buf are.

Nothing here starts anything on import.
"""
