"""Re-sealing every sealed value of every domain under the newest key (`dockyard secrets
rotate-key`): above the domains whose tables hold sealed values."""
