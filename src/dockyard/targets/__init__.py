"""Jobs and build services as build targets: what both declare and share."""
