"""One app on one port: the JSON API (FastAPI) with the Gradio form mounted at "/"."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import signal
import threading
from collections.abc import AsyncIterator
from pathlib import Path

from fastapi import FastAPI

from api.auth import Access
from api.direct_route import direct_route
from api.form_queue import QueueGuard
from api.gradio_audit import GradioRefusalAudit
from api.middleware import Gate
from api.proxy import ForwardedFromTrustedOnly
from api.rate_limit import ClientRate
from api.rest import api_methods, create_api
from api.scoring_service import ScoringService
from api.server_protocol import protocol_class
from scoring import config
from serving.validation import MAX_BODY_BYTES

log = logging.getLogger(__name__)

DIRECT_ROUTES = (("POST", "/api/predict"),)  # served past the gate's checks without the app's stack
LOGIN_RATE, LOGIN_BURST = 0.2, 5  # form logins per second and at once, per address: guessing passwords is slow

# The service `serve` runs, for the seed's `predict_credit_score` (api.seed), which has no request to
# read `app.state.service` from; the routes and the form use the one on `app.state`.
_service: ScoringService | None = None


def loaded_service() -> ScoringService | None:
    """The service of the server running in this process, else None."""
    return _service


def build_app(service: ScoringService) -> ForwardedFromTrustedOnly:
    """The JSON API with the form mounted at "/", behind the ASGI gate (body limits, 405, no upload,
    optional tokens: `api.middleware`) and the proxy-header filter (`api.proxy`); the log is flushed when
    the server stops."""
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    import gradio as gr  # imported late: the JSON API alone does not need it

    from api.ui import CSS, I18N, build_ui

    app = create_api(service)
    previous = app.router.lifespan_context
    access = Access.from_env()
    demo = build_ui(service, access)
    guard = QueueGuard(demo).install()  # bounded, abandoned events dropped, revived when stopped
    service.queue_health = guard.health

    @contextlib.asynccontextmanager
    async def lifespan(a: FastAPI) -> AsyncIterator[None]:
        async with previous(a):
            service.start_store_build()  # the default twin store, built once the server answers
            watchdog = asyncio.get_running_loop().create_task(guard.watch())
            try:
                yield
            finally:
                guard.close()
                watchdog.cancel()
                service.close()

    app.router.lifespan_context = lifespan
    # Node SSR off (no Node server to start), no footer link to Gradio's own site; show_error off:
    # an unexpected exception's text stays in the server log (our gr.Error messages still show).
    methods = api_methods(app)  # the API's own routes, before Gradio's are added
    users = access.form_users
    # root_path: PUBLIC_URL (or the Space's URL) makes Gradio's links independent of any request header.
    gr.mount_gradio_app(app, demo, path="/", root_path=config.public_url(), ssr_mode=False, css=CSS,
                        footer_links=["api"], run_history=False, show_error=False, max_file_size=0,
                        auth=users or None, i18n=I18N,
                        auth_message="Connexion requise pour le formulaire." if users else None)
    events = frozenset(fn.api_name for fn in demo.fns.values() if isinstance(fn.api_name, str))
    fns = frozenset(i for i in demo.fns if isinstance(i, int))
    audited = GradioRefusalAudit(app, service.audit_refusal, fns)  # Gradio's own refusals: audit lines too
    gate = gated(audited, methods, service=service, access=access, event_rate=ClientRate(),
                 login_rate=ClientRate(LOGIN_RATE, LOGIN_BURST), gradio_events=events, api=app)
    return ForwardedFromTrustedOnly(gate, config.settings().trusted_proxies)


def gated(app: FastAPI | GradioRefusalAudit, methods: dict[str, set[str]] | None = None, *,
          service: ScoringService | None = None, access: Access | None = None, event_rate: ClientRate | None = None,
          login_rate: ClientRate | None = None, gradio_events: frozenset[str] | None = None,
          api: FastAPI | None = None) -> Gate:
    """`app` behind the gate: body limits, 405, no upload, the access policy of `API_TOKENS` / `FORM_USERS`;
    with `service`, each refusal of the gate is an audit line of its log. `POST /api/predict` of the JSON
    API (`api`, default `app` itself) is called by the gate directly (`api.direct_route`)."""
    direct = {(m, p): r for m, p in DIRECT_ROUTES if (r := direct_route(app if api is None else api, m, p)) is not None}
    return Gate(app, methods=methods or api_methods(app), body_limits={"/api/predict/batch": MAX_BODY_BYTES},
                access=access if access is not None else Access.from_env(),
                audit=service.audit_refusal if service is not None else None, event_rate=event_rate,
                login_rate=login_rate, gradio_events=gradio_events, direct=direct)


def freeze_startup_objects() -> None:
    """Leave the objects made at start-up (Gradio, FastAPI, the model: ~360,000) out of the garbage
    collector's passes (`gc.freeze`). A full pass over them took 0.1-0.3 s, every so often in the
    middle of a request; calls make few objects that outlive them, so nothing piles up."""
    gc.collect()
    gc.freeze()


def _watch_models(service: ScoringService) -> None:
    """Pick up a promoted model (or a challenger) without a restart: a look every MODEL_WATCH_SECONDS, and
    on SIGHUP (`kill -HUP <pid>`); `POST /api/admin/reload` does the same behind the API tokens."""
    if service.swapper is None:
        return
    every = config.model_watch_seconds()
    service.swapper.start(every)
    swapper = service.swapper

    def on_hup(signum: int, frame: object) -> None:
        threading.Thread(target=swapper.check, name="model-reload", daemon=True).start()

    signal.signal(signal.SIGHUP, on_hup)
    log.info("model folders watched %s; SIGHUP reloads", f"every {every:g} s" if every else "never (watch off)")


def serve(host: str | None = None, port: int | None = None, model_dir: Path | None = None,
          log_path: Path | None = None) -> None:
    """Run the app with uvicorn (uvloop and httptools when installed; no access log: we log calls)."""
    import uvicorn

    global _service
    _service = ScoringService.load(model_dir, log_path)
    if _service.predictor is None:
        log.warning("serving without a model (%s); /api/predict answers 503", _service.load_error)
    else:
        log.info("model %s loaded (%d features)", _service.model_version, len(_service.predictor.features))
    store = _service.store_health()
    log.info("dossiers: feature store %s",
             f"of {store['applicants']} applicants" if store["loaded"] else store["reason"])
    problem = _service.logger.check_writable()
    if problem:
        log.warning("predictions cannot be logged (%s); /health says so", problem)
    else:
        log.info("logging to %s", _service.logger.path)
    _watch_models(_service)
    default_host, default_port = config.server_address()
    host, port = host or default_host, port or default_port
    app = build_app(_service)
    freeze_startup_objects()
    log.info("serving on http://%s:%s (form at /, API at /api/predict, docs at /docs); Ctrl+C stops", host, port)
    # The HTTP protocol closes connections whose request does not arrive whole in REQUEST_READ_TIMEOUT;
    # forwarded headers are handled by `api.proxy` (TRUSTED_PROXIES), not by uvicorn's default trust of localhost.
    uvicorn.run(app, host=host, port=port, access_log=False, proxy_headers=False,
                log_level="warning", loop="auto", http=protocol_class(), timeout_graceful_shutdown=5)
