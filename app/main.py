"""The ASGI application `app.main:app`, configured from the environment.

`ops-bridge serve` is the way to run it: it starts the embedded database when
DATABASE_URL is unset and installs the WebSocket transport the stream needs.
"""

from app.config import load_settings
from app.factory import create_app

app = create_app(load_settings())
