"""Serve the page: open the generator once, check the address, launch Gradio (no share link, no analytics)."""

from __future__ import annotations

import logging
import os
import socket

from cgan.errors import UserError

log = logging.getLogger(__name__)


def check_address(host: str, port: int) -> None:
    """One sentence now, rather than Gradio's traceback after the model is loaded, for a port in use."""
    if not 0 < port < 65536:
        raise UserError(f"port={port} is not a TCP port; use 1-65535, e.g. port=7860")
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
        try:
            probe.bind((host, port))
        except OSError as err:
            raise UserError(f"cannot listen on {host}:{port} ({err.strerror or err}); pass another port, "
                            f"e.g. port={port + 1}, or stop what is using it") from None


def serve(ckpt_path: str | None, host: str = "127.0.0.1", port: int = 7860, device: str = "cpu",
          max_images: int = 64, share: bool = False, analytics: bool = False, open_browser: bool = False,
          block: bool = True, truncation: str = "auto"):
    """Serve the generator of ``ckpt_path`` (a .ckpt or an exported .onnx) at http://host:port. With
    ``block=False`` it returns the running page (tests close it with ``page.close()``)."""
    # Before gradio is imported: it reads this once. Off unless asked, so nothing leaves the machine.
    os.environ["GRADIO_ANALYTICS_ENABLED"] = "True" if analytics else "False"
    try:
        import gradio  # noqa: F401
    except ModuleNotFoundError:
        raise UserError("cgan-app needs Gradio, which is not installed; pip install -e '.[app]'") from None
    from cgan.app.open_file import open_backend
    from cgan.app.page import build_page
    from cgan.app.views import Views

    if truncation not in ("auto", "show", "hide"):
        raise UserError(f"truncation={truncation} is not a choice; use auto (hidden when it fades this generator's "
                        "images), show or hide")
    if not 1 <= max_images <= 1024:
        raise UserError(f"max_images={max_images} must be between 1 and 1024")
    check_address(host, port)
    backend = open_backend(ckpt_path, device)
    page = build_page(Views(backend, max_images), truncation)
    log.info("Serving %s (%s) at http://%s:%d", backend.source, backend.kind, host, port)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # Gradio's own start-up requests, one line each
    page.launch(server_name=host, server_port=port, share=share, inbrowser=open_browser, quiet=True,
                prevent_thread_lock=not block, show_error=True)
    return page
