"""Transport layer: servicers (proto in, domain call, proto out), converters, error mapping, interceptors."""
