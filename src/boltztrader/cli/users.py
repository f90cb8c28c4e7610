"""``boltz users``: create users, list them, issue and revoke their API tokens.

A token is printed once, when it is made, and never again: only its hash is stored. Exit codes:
0 done; 2 bad input (a malformed or taken email, an unknown user or token, an unreachable
database), as one line.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer
from rich import box
from rich.console import Console
from rich.table import Table
from sqlalchemy.engine import URL

from boltztrader.accounts import users
from boltztrader.cli.common import DatabaseUrlOption, fail, out, run, settings_from, with_engine
from boltztrader.db.engine import normalize_url
from boltztrader.domain.secrets import Secret
from boltztrader.errors import TradingError

app = typer.Typer(help="Users, their roles and API tokens.", no_args_is_help=True)

EmailOption = Annotated[str, typer.Option("--email", help="The user's email address.", show_default=False)]

PIPE_WIDTH = 160
NOT_SHOWN_AGAIN = "This token will not be shown again: store it now (it is kept only as a hash)."


def _url(database_url: str | None) -> URL:
    try:
        return normalize_url(settings_from(database_url=database_url).database_url)
    except TradingError as exc:
        raise fail(str(exc)) from None


def _print_token(token: Secret) -> None:
    # Plain echo, not Rich: the token must come out on one line exactly as it is.
    typer.echo(f"token: {token.reveal()}")
    typer.echo(NOT_SHOWN_AGAIN)


def _when(moment: datetime | None) -> str:
    return "" if moment is None else moment.strftime("%Y-%m-%d %H:%M")


@app.command()
def create(
    email: EmailOption,
    role: Annotated[str, typer.Option("--role", help="user or admin.")] = users.Role.USER.value,
    name: Annotated[str, typer.Option("--name", help="Display name.")] = "",
    database_url: DatabaseUrlOption = None,
) -> None:
    """Create a user with a first API token; prints the user id and the token, once."""
    url = _url(database_url)
    user, token = run(lambda: with_engine(url, lambda engine: users.create_user(engine, email, role, name)))
    out.print(f"created user {user.id} ({user.email}, role {user.role.value})", markup=False, soft_wrap=True)
    _print_token(token)


@app.command("list")
def list_(database_url: DatabaseUrlOption = None) -> None:
    """List every user with their role and number of active API tokens (never a token)."""
    url = _url(database_url)
    summaries = run(lambda: with_engine(url, users.list_users))
    table = Table(box=box.SIMPLE_HEAD)
    # Ids and emails are what a person copies into the next command: wrapped, never cut short.
    table.add_column("id", overflow="fold")
    table.add_column("email", overflow="fold")
    table.add_column("role")
    table.add_column("created (UTC)")
    table.add_column("tokens active", justify="right")
    table.add_column("state")
    for summary in summaries:
        user = summary.user
        state = "disabled" if user.disabled else "active"
        table.add_row(user.id, user.email, user.role.value, _when(user.created_at),
                      str(summary.active_tokens), state)
    # A terminal gets its own width; a pipe or file gets whole rows, for grep and scripts.
    (out if out.is_terminal else Console(highlight=False, width=PIPE_WIDTH)).print(table)
    if not summaries:
        out.print("no users yet: create one with `boltz users create --email ...`", markup=False)


@app.command()
def token(
    email: EmailOption,
    label: Annotated[str, typer.Option("--label", help="What the token is for.")] = "",
    database_url: DatabaseUrlOption = None,
) -> None:
    """Issue a new API token for a user; prints it, once."""
    url = _url(database_url)
    issued, secret = run(lambda: with_engine(
        url, lambda engine: users.issue_token(engine, email=email, name=label)))
    out.print(f"issued token {issued.id} (prefix {issued.prefix}) for {email.strip()}", markup=False,
              soft_wrap=True)
    _print_token(secret)


@app.command()
def revoke(
    token_prefix: Annotated[str | None, typer.Option(
        "--token-prefix", help="The token's display prefix (8 characters after btz_).",
        show_default=False)] = None,
    token_id: Annotated[str | None, typer.Option(
        "--token-id", help="The token's id.", show_default=False)] = None,
    database_url: DatabaseUrlOption = None,
) -> None:
    """Revoke one API token, named by its prefix or its id; requests with it fail from now on."""
    if (token_prefix is None) == (token_id is None):
        raise fail("name the token with exactly one of --token-prefix or --token-id")
    url = _url(database_url)
    revoked, changed = run(lambda: with_engine(
        url, lambda engine: users.revoke_token(engine, token_id=token_id, prefix=token_prefix)))
    what = f"token {revoked.id} (prefix {revoked.prefix}) of user {revoked.user_id}"
    if changed:
        out.print(f"revoked {what}", markup=False, soft_wrap=True)
    else:
        out.print(f"{what} was already revoked at {_when(revoked.revoked_at)} UTC", markup=False,
                  soft_wrap=True)
