"""The ASGI application `app.main:app`, configured from the environment.

`ops-bridge serve` is the way to run it: it starts the embedded database when
DATABASE_URL is unset and installs the WebSocket transport the stream needs.
"""

from app.config import load_settings
from app.factory import create_app
from app.logs import configure_logging
from app.server import settle_heap

_settings = load_settings()
# A worker of `serve --workers N` is a fresh interpreter: it sets up its own logging.
configure_logging(_settings.log_level, json_format=_settings.json_logs)
app = create_app(_settings)
settle_heap()
