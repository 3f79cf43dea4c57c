"""Pages, static files, routing and consumers the live-server tests serve."""
