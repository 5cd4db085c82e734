"""The web dashboard at /ui: server-rendered pages over the domain services."""
