"""The live console: a page served by the service, and the session cookie it signs in with."""
