"""Every webhook sender, one module each: how its deliveries are authenticated,
translated (by its pure adapter in app/adapters/) and applied, and the
registry (app/senders/registry.py) that the routes, reprocessing, `ops-bridge
send`, the database check and the API documents all read."""
