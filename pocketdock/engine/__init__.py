"""Engine client: HTTP to a Docker or Podman engine, and the errors it maps."""

from pocketdock.engine.client import EngineClient, get_client
from pocketdock.engine.endpoint import Endpoint, resolve_endpoint

__all__ = ["Endpoint", "EngineClient", "get_client", "resolve_endpoint"]
