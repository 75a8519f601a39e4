"""The home directory: where it is and its permissions (``paths``), the one-worker lock
(``lock``)."""
