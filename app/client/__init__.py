"""The JavaScript client for frontends (clients/js/), served by the service at /client/."""
