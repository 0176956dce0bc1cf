"""`phare serve [--port P]`: serve Phare with gunicorn, a production-grade WSGI server."""

from __future__ import annotations

import os
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Serve Phare with gunicorn (static files through WhiteNoise, no CDN)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--port", type=int, default=int(os.getenv("PORT", "8000")))
        parser.add_argument("--host", default=os.getenv("HOST", "127.0.0.1"))
        parser.add_argument("--workers", type=int, default=int(os.getenv("WEB_CONCURRENCY", "2")))

    def handle(self, *args: Any, **opts: Any) -> None:
        from gunicorn.app.base import BaseApplication

        # Collect first: WhiteNoise indexes STATIC_ROOT when the WSGI application is built.
        call_command("collectstatic", interactive=False, verbosity=0)
        from phare.wsgi import application

        bind = f"{opts['host']}:{opts['port']}"
        config = {"bind": bind, "workers": opts["workers"], "threads": 4, "timeout": 120,
                  "accesslog": "-" if settings.DEBUG else None}  # fmt: skip

        class App(BaseApplication):  # type: ignore[misc]
            def load_config(self) -> None:
                for key, value in config.items():
                    if value is not None:
                        self.cfg.set(key, value)

            def load(self) -> Any:
                return application

        self.stdout.write(f"Phare is serving on http://{bind}/")
        App().run()
