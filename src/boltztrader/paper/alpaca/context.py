"""Per-application and per-request objects of the Alpaca paper server."""

from __future__ import annotations

from aiohttp import web

from boltztrader.paper.alpaca.auth import RateLimiter
from boltztrader.paper.alpaca.book import Book
from boltztrader.paper.http import VENUE_KEY
from boltztrader.paper.venue import PaperAccount, Venue

BOOK_KEY: web.AppKey[Book] = web.AppKey("alpaca_book", Book)
LIMITER_KEY: web.AppKey[RateLimiter] = web.AppKey("alpaca_rate_limiter", RateLimiter)
ACCOUNT: web.RequestKey[PaperAccount] = web.RequestKey("alpaca_account", PaperAccount)


def venue_of(request: web.Request) -> Venue:
    return request.app[VENUE_KEY]


def book_of(request: web.Request) -> Book:
    return request.app[BOOK_KEY].fresh()


def account_of(request: web.Request) -> PaperAccount:
    return request[ACCOUNT]  # set by the auth middleware
