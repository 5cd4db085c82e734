"""dockyard's Prometheus metrics: one registry of this process's counters and histograms
(`instruments`), the gauges read from the database at each scrape (`families_of`, filled by
the caller that can read it), and how they are served (`render`, `Listener`)."""
