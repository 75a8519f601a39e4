"""Watching Globus tasks: submit or adopt a task (``submit``), follow every new one with follow
rules (``follow_rules``, ``follow_find``, ``follow``), poll its status (``poll``), then list
what it delivered into object rows and what Globus skipped (``listing``, ``skipped``) for the
copy pipeline."""
