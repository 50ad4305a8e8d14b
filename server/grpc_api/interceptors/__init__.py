"""Server interceptors, one concern each, in the order every call passes them:

1. `AccessLog`: the call's request id, one JSON log line and metrics per call, and domain
   errors turned into rich statuses (a bug into a bare INTERNAL);
2. `Authentication`: the caller's workspace, or UNAUTHENTICATED;
3. `CallerLimits`: at most N calls in flight per workspace, or RESOURCE_EXHAUSTED;
4. `RequestDecoding`: a request whose bytes are no valid message gets INVALID_ARGUMENT
   (grpc would answer UNKNOWN).
"""

from server.grpc_api.interceptors.access import AccessLog
from server.grpc_api.interceptors.authentication import Authentication
from server.grpc_api.interceptors.decoding import RequestDecoding
from server.grpc_api.interceptors.limits import CallerLimits

__all__ = ["AccessLog", "Authentication", "CallerLimits", "RequestDecoding"]
