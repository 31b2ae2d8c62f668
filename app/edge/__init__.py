"""The HTTP edge: what a connection may cost before the application sees a request.

uvicorn parses requests and upgrades sockets; it puts no bound on a request
head, on how long a client may take to send one, or on how many connections
may be open. Those bounds live here, in the server's own protocol objects, so
they hold before a byte reaches the application (docs/security.md, "Hostile
traffic"). The WebSocket side of the edge is app/ws/transport.py.
"""
