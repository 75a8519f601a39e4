"""Watching Globus tasks: submit or adopt a task (``submit``), poll its status (``poll``), then
list what it delivered into object rows (``listing``) for the copy pipeline."""
