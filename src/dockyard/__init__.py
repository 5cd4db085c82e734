"""dockyard: self-hosted builds and jobs behind the Northflank API."""

__version__ = "0.3.0"
