"""``yibao serve`` and ``yibao user add``: the service's commands, added by ``register(app)``.

Both migrate the database first, so a fresh ``yibao.db`` (or an empty PostgreSQL database)
is ready without a separate step. The database is ``--database-url``, else
``YIBAO_DATABASE_URL``, else ``sqlite:///yibao.db``. The web stack is imported only when
these commands run, so the rest of the CLI starts quickly.
"""

from __future__ import annotations

import copy
from typing import Annotated, Any

import typer
from rich.markup import escape

from yibao.cli_common import err, reports_errors
from yibao.cli_store import UrlOpt


def log_config() -> dict[str, Any]:
    """Uvicorn's logging with a filter that masks anything shaped like a 身份证号."""
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config["filters"] = {"scrub": {"()": "yibao.api.errors.ScrubFilter"}}
    for handler in config["handlers"].values():
        handler["filters"] = ["scrub"]
    return config


def _shown(url: str) -> str:
    from sqlalchemy.engine import make_url

    return escape(make_url(url).render_as_string(hide_password=True))


@reports_errors
def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    policy: Annotated[str | None, typer.Option(
        help="Region whose policy settles claims (default: $YIBAO_POLICY, else 360400).")] = None,
    database_url: UrlOpt = None,
    workers: Annotated[int, typer.Option(
        min=1, help="Server processes (each with its own connection pool); more than one "
                    "needs PostgreSQL.")] = 1,
) -> None:
    """Start the REST API (OpenAPI at /docs) after migrating the database and working out the
    person-year terms that online settlement reads (benefit start, effective 大病 cap)."""
    import os

    import uvicorn

    from yibao.api import create_app
    from yibao.api.server import http_protocol
    from yibao.store.db import database_url as resolve
    from yibao.store.db import make_engine, upgrade
    from yibao.store.terms import refresh

    url = resolve(database_url)
    upgrade(url)
    app = create_app(url, policy)
    state = app.state.yibao
    if workers > 1 and state.engine.dialect.name != "postgresql":
        state.engine.dispose()
        err.print("--workers > 1 needs PostgreSQL (SQLite takes one writer at a time)")
        raise typer.Exit(2)
    engine = make_engine(url)
    try:
        stored = refresh(engine, state.policy)
    finally:
        engine.dispose()
    err.print(f"yibao API on http://{host}:{port}/docs — database {_shown(url)}, "
              f"policy {state.policy.region}, {workers} worker(s); "
              f"terms worked out for {stored:,} person-years")
    if workers == 1:
        uvicorn.run(app, host=host, port=port, log_config=log_config(),
                    http=http_protocol())
        return
    state.engine.dispose()
    # each worker process builds its own app from the environment
    os.environ["YIBAO_DATABASE_URL"] = url
    os.environ["YIBAO_POLICY"] = state.policy.region if policy is None else policy
    uvicorn.run("yibao.api.app:create_app", factory=True, host=host, port=port,
                workers=workers, log_config=log_config(), http=http_protocol())


@reports_errors
def user_add(
    username: Annotated[str, typer.Argument(help="Login name.")],
    role: Annotated[str, typer.Option(help="admin, clerk, analyst or auditor.")],
    facility: Annotated[str | None, typer.Option(
        help="The clerk's facility_id (clerks only).")] = None,
    secret: Annotated[str, typer.Option(
        envvar="YIBAO_SECRET", prompt=True, hide_input=True, confirmation_prompt=True,
        show_default=False, help="The secret (else $YIBAO_SECRET, else asked for).")] = "",
    database_url: UrlOpt = None,
) -> None:
    """Create a user (secret hashed with scrypt); the creation is audited."""
    from yibao.store.auth import add_user
    from yibao.store.db import database_url as resolve
    from yibao.store.db import make_engine, sessions, upgrade

    url = resolve(database_url)
    upgrade(url)
    engine = make_engine(url)
    try:
        with sessions(engine).begin() as session:
            add_user(session, username, role, secret, facility, by="cli")
    finally:
        engine.dispose()
    err.print(f"user {escape(username)} ({escape(role)}"
              f"{escape(f', {facility}') if facility else ''}) added to {_shown(url)}")


def register(app: typer.Typer) -> None:
    """Add ``serve`` and ``user add`` to the ``yibao`` command."""
    app.command("serve")(serve)
    user_app = typer.Typer(help="用户 users and roles (admin, clerk, analyst, auditor).",
                           no_args_is_help=True)
    user_app.command("add")(user_add)
    app.add_typer(user_app, name="user")
