"""Use cases: accounts, media, publishing, history, and the publish workflows.

They see only the domain's types and ports (server/domain); adapters are handed in by
server/bootstrap.py, and in unit tests in-memory fakes are.
"""
