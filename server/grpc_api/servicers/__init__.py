"""Thin async servicers: convert the request, call the domain, convert the result."""
