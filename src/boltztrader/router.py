"""Routing: which accounts a signal goes to, and at which broker.

A signal may name an account, or a user (and broker), or only its model: then it fans out to every
active subscriber of that model, each on their own account for the signal's market and with their
own sizing rule. The broker follows the market (NSE/BSE/NFO -> Zerodha, US -> Alpaca, crypto ->
Binance), falling back to BROKER_DEFAULT for a market without one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from boltztrader.domain.enums import Broker, Market
from boltztrader.domain.signals import InvalidSignal, Signal
from boltztrader.domain.targets import AccountRef, Sizing, Subscription, Target

BROKER_FOR_MARKET: Mapping[Market, Broker] = {
    Market.NSE: Broker.ZERODHA,
    Market.BSE: Broker.ZERODHA,
    Market.NFO: Broker.ZERODHA,
    Market.US: Broker.ALPACA,
    Market.CRYPTO: Broker.BINANCE,
    Market.CRYPTO_FUTURES: Broker.BINANCE,
}


def broker_for(market: Market, default: Broker) -> Broker:
    """The broker that serves ``market``, or the configured default."""
    return BROKER_FOR_MARKET.get(market, default)


class Router:
    """Resolves a signal's targets from the linked accounts and the model subscriptions."""

    def __init__(self, default_broker: Broker) -> None:
        self.default_broker = default_broker

    def targets(self, signal: Signal, accounts: Sequence[AccountRef],
                subscriptions: Iterable[Subscription] = ()) -> list[Target]:
        """Every (account, sizing) this signal goes to; InvalidSignal when a named target is unknown.

        ``accounts`` holds every account the signal could reach (the named one, the named user's, or
        the subscribers'); unlinked accounts must not be in it.
        """
        broker = signal.broker or broker_for(signal.market, self.default_broker)
        by_id = {a.account_id: a for a in accounts}
        if signal.account_id is not None:
            account = by_id.get(signal.account_id)
            if account is None:
                raise InvalidSignal(f"unknown account {signal.account_id}", "account_id")
            if account.broker is not broker:
                raise InvalidSignal(f"account {signal.account_id} is at {account.broker}, but "
                                    f"{signal.market} trades at {broker}", "account_id")
            return [Target(account, signal.market, Sizing.SIGNAL)]
        if signal.user_id is not None:
            account = self._account_of(signal.user_id, broker, accounts, signal)
            return [Target(account, signal.market, Sizing.SIGNAL)]
        by_owner: dict[str, list[AccountRef]] = {}  # the user's accounts at this broker, first choice first
        for a in sorted(accounts, key=lambda a: (a.label, a.account_id)):
            if a.broker is broker:
                by_owner.setdefault(a.user_id, []).append(a)
        targets = []
        for sub in subscriptions:
            if sub.model_id != signal.model_id:
                continue
            if sub.account_id is not None:
                account = by_id.get(sub.account_id)
                if account is None or account.broker is not broker:
                    continue  # pinned to an account of another market, or unlinked
            else:
                found = by_owner.get(sub.user_id)
                if not found:
                    continue  # this subscriber has no account for the market
                account = found[0]
            targets.append(Target(account, signal.market, sub.sizing, sub.sizing_value))
        return targets

    @staticmethod
    def _account_of(user_id: str, broker: Broker, accounts: Sequence[AccountRef],
                    signal: Signal) -> AccountRef:
        found = sorted((a for a in accounts if a.user_id == user_id and a.broker is broker),
                       key=lambda a: (a.label, a.account_id))
        if not found:
            raise InvalidSignal(f"user {user_id} has no {broker} account for {signal.market}", "user_id")
        return found[0]
