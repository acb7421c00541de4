"""ComfyUI provider (local open-weight models): `client` is ComfyUIProvider, `servers` picks a server,
`replies` reads ComfyUI's answers, `watch` follows the WebSocket, `ids` builds and parses job ids,
`download` fetches from `/view`. The workflows themselves live in `workflow` (written separately)."""

from __future__ import annotations

from core.providers.comfyui.client import ComfyUIProvider, Workflow
from core.providers.comfyui.ids import client_id_for, make_job_id, parse_job_id
from core.providers.comfyui.servers import ServerReport

__all__ = ["ComfyUIProvider", "ServerReport", "Workflow", "client_id_for", "make_job_id", "parse_job_id"]
