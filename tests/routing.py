"""The suite's routing (CHANNEL_LAYERS ROUTING); most tests use apply_routes."""

channel_routing = []
other_routing = []
