"""The JSON shapes of the API: base models, shared field types, field paths of errors, and
wire bodies as dicts. Every schemas.py builds on these; nothing here knows HTTP."""
