"""The local job server (extra ``faceswap_nb[server]``): the API of ``API.md`` on this machine.

Run it with ``faceswap-nb serve``, or from Python with :class:`LocalServer`. The
application itself is ``faceswap_nb.server.app.create_app(settings)``.
"""

from __future__ import annotations

from faceswap_nb.server.local import LocalServer, ServerStartError
from faceswap_nb.server.settings import ServerSettings

__all__ = ["LocalServer", "ServerSettings", "ServerStartError"]
