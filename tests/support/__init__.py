"""Helpers the test modules share: processes, layers, Redis servers, the live server, a browser."""
