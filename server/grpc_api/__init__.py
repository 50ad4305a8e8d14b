"""Transport: gRPC servicers (proto in, use-case call, proto out), converters, status
mapping and interceptors. No rule lives here."""
