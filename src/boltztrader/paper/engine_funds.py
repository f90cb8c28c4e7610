"""Reservations and settlement of the paper engine: what an order locks and what each fill moves.

- SPOT: a buy locks (and spends) the quote asset, a sell the base asset.
- EQUITY: a buy locks cash; a sell locks position quantity (``AccountBook.position_locked``), so two
  resting sells cannot sell the same shares. Cash moves by notional and fees; realised P&L is
  recorded on the position only.
- FUTURES: an order locks margin (notional / leverage) plus fee for the part that would open or
  grow a position; closing needs nothing free (its fee is paid from the margin it releases). A
  fill moves margin into ``Position.margin`` (kept in the quote balance's ``locked``); closing
  releases it and settles realised P&L into the quote balance.
  Losses beyond the free balance are absorbed (no liquidation engine), so free never goes negative.

Fills pay from the order's own reservation first, then from free; a fee the account cannot pay is
waived rather than driving a balance negative (the fill records the fee actually charged).
"""

from __future__ import annotations

from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal

from boltztrader.paper.engine_book import AccountBook
from boltztrader.paper.engine_util import fee_amount, fee_reserve, money_unit, round_up_money
from boltztrader.paper.model import (
    ZERO,
    Account,
    AssetClass,
    Balance,
    Instrument,
    Order,
    Position,
    Side,
)


def balance(account: Account, asset: str) -> Balance:
    found = account.balances.get(asset)
    if found is None:
        found = account.balances[asset] = Balance(asset)
    return found


def lock_asset(instrument: Instrument, side: Side) -> str | None:
    """The asset an order of this side locks; None: EQUITY sells lock position quantity instead."""
    if instrument.asset_class is AssetClass.SPOT and side is Side.SELL:
        return instrument.base_asset
    if instrument.asset_class is AssetClass.EQUITY and side is Side.SELL:
        return None
    return instrument.quote_asset


def reducible(account: Account, instrument: Instrument, side: Side) -> Decimal:
    """How much of the current position an order of ``side`` would close (0 if it would grow it)."""
    pos = account.positions.get(instrument.symbol)
    if pos is None:
        return ZERO
    if side is Side.BUY:
        return max(-pos.quantity, ZERO)
    return max(pos.quantity, ZERO)


def reserve(account: Account, instrument: Instrument, side: Side, quantity: Decimal, price: Decimal,
            rate: Decimal, leverage: int) -> Decimal:
    """What an order of ``quantity`` at ``price`` needs: the amount ``lock`` would reserve."""
    if lock_asset(instrument, side) != instrument.quote_asset:
        return quantity
    if instrument.asset_class is not AssetClass.FUTURES:
        notional = quantity * price
        return notional + fee_reserve(instrument, rate, notional)
    opening = max(quantity - reducible(account, instrument, side), ZERO)
    if opening == 0:
        return ZERO  # closing only: its fee comes out of the margin it releases
    notional = opening * price
    return round_up_money(instrument, notional / leverage) + fee_reserve(instrument, rate, notional)


def available(book: AccountBook, instrument: Instrument, side: Side) -> Decimal:
    """What new orders of ``side`` may still lock (free asset, or unlocked long position)."""
    asset = lock_asset(instrument, side)
    if asset is not None:
        found = book.account.balances.get(asset)
        return ZERO if found is None else found.free
    pos = book.account.positions.get(instrument.symbol)
    held = ZERO if pos is None else max(pos.quantity, ZERO)
    return held - book.position_locked.get(instrument.symbol, ZERO)


def lock(book: AccountBook, instrument: Instrument, order: Order, amount: Decimal) -> None:
    if amount <= 0:
        return
    asset = lock_asset(instrument, order.side)
    if asset is None:
        book.position_locked[instrument.symbol] = book.position_locked.get(instrument.symbol, ZERO) + amount
    else:
        bal = balance(book.account, asset)
        bal.free -= amount
        bal.locked += amount
    order.locked += amount


def unlock(book: AccountBook, instrument: Instrument, order: Order, amount: Decimal | None = None) -> None:
    """Release ``amount`` (default: all) of the order's reservation back to free."""
    amount = order.locked if amount is None else min(amount, order.locked)
    if amount <= 0:
        return
    asset = lock_asset(instrument, order.side)
    if asset is None:
        book.position_locked[instrument.symbol] = book.position_locked.get(instrument.symbol, ZERO) - amount
    else:
        bal = balance(book.account, asset)
        bal.locked -= amount
        bal.free += amount
    order.locked -= amount


def _pay(bal: Balance, order: Order | None, amount: Decimal) -> Decimal:
    """Spend from the order's reservation, then from free; returns the part that could not be paid."""
    if order is not None and order.locked > 0 and amount > 0:
        taken = min(order.locked, amount)
        order.locked -= taken
        bal.locked -= taken
        amount -= taken
    taken = min(max(bal.free, ZERO), amount)
    bal.free -= taken
    return amount - taken


def _move_position(pos: Position, side: Side, quantity: Decimal, price: Decimal,
                   unit: Decimal) -> tuple[Decimal, Decimal, Decimal]:
    """Apply a fill to a position: (closed quantity, realised P&L, opened quantity)."""
    notional = quantity * price
    if side is Side.BUY:
        pos.bought_quantity += quantity
        pos.bought_value += notional
        signed = quantity
    else:
        pos.sold_quantity += quantity
        pos.sold_value += notional
        signed = -quantity
    before = pos.quantity
    if before == 0 or (before > 0) == (signed > 0):
        after = before + signed
        pos.average_price = (abs(before) * pos.average_price + notional) / abs(after)
        pos.quantity = after
        return ZERO, ZERO, quantity
    closed = min(quantity, abs(before))
    direction = 1 if before > 0 else -1
    pnl = ((price - pos.average_price) * closed * direction).quantize(unit, rounding=ROUND_HALF_EVEN)
    pos.realized_pnl += pnl
    pos.quantity = before + signed
    opened = quantity - closed
    if pos.quantity == 0:
        pos.average_price = ZERO
    elif opened > 0:
        pos.average_price = price
    return closed, pnl, opened


def settle(book: AccountBook, instrument: Instrument, order: Order, quantity: Decimal, price: Decimal,
           rate: Decimal, leverage: int) -> Decimal:
    """Move balances and the position for one fill; returns the fee actually charged."""
    account = book.account
    notional = quantity * price
    fee = fee_amount(instrument, rate, notional)
    quote = balance(account, instrument.quote_asset)
    side = order.side
    asset_class = instrument.asset_class
    if asset_class is AssetClass.SPOT:
        base = balance(account, instrument.base_asset)
        if side is Side.BUY:
            _pay(quote, order, notional)
            fee -= _pay(quote, order, fee)
            base.free += quantity
        else:
            _pay(base, order, quantity)
            quote.free += notional
            fee -= _pay(quote, None, fee)
        return fee
    pos = account.positions.get(instrument.symbol)
    if pos is None:
        pos = account.positions[instrument.symbol] = Position(instrument.symbol, leverage=leverage)
    unit = money_unit(instrument)
    if asset_class is AssetClass.EQUITY:
        if side is Side.BUY:
            _pay(quote, order, notional)
            fee -= _pay(quote, order, fee)
        else:
            held = min(order.locked, quantity)
            order.locked -= held
            book.position_locked[instrument.symbol] = book.position_locked.get(instrument.symbol, ZERO) - held
            quote.free += notional
            fee -= _pay(quote, None, fee)
        _move_position(pos, side, quantity, price, unit)
        return fee
    before = abs(pos.quantity)
    closed, pnl, opened = _move_position(pos, side, quantity, price, unit)
    if closed > 0:
        release = pos.margin
        if closed < before:
            release = (pos.margin * closed / before).quantize(unit, ROUND_DOWN)
        pos.margin -= release
        quote.locked -= release
        quote.free += release
        if pnl > 0:
            quote.free += pnl
        elif pnl < 0:
            _pay(quote, None, -pnl)
    if opened > 0:
        margin = round_up_money(instrument, opened * price / leverage)
        paid = margin - _pay(quote, order, margin)
        quote.locked += paid
        pos.margin += paid
        pos.leverage = leverage
    fee -= _pay(quote, order, fee)
    return fee
