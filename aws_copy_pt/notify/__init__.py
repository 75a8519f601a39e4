"""Notification adapters: deliver a rendered message by email (SMTP or sendmail) or webhook.

Each adapter knows one way out and its settings; what a message says is decided in
``core.messages`` and when it is sent (and retried) in ``services.notify``.
"""
