"""The API's routes, one module per domain: parse, call the domain's service, answer."""
