"""Security checks for consumers."""
