"""Deleting jobs, build services and projects with what goes with them."""
