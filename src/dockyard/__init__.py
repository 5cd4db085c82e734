"""dockyard: self-hosted builds and jobs behind the Northflank API."""

__version__ = "0.2.0"
