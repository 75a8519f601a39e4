"""The first-run screens, one module each, in the order the wizard shows them."""
