"""Disk bounds: images of deleted jobs and services and of old builds leave the registry and
the Docker engine, stale build directories go, and BuildKit's unused cache is pruned."""
