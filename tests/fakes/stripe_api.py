"""A small local Stripe: the parts of the API warmrun calls, on Stripe's wire format.

Objects are Stripe's own example fixtures (``tests/data/specs/stripe_openapi_fixtures3.json``)
patched with the request's values. Requests are form-encoded with Stripe's bracket notation and
authenticated with the secret key; ``Idempotency-Key`` is honoured as Stripe does (same key and
same parameters: the stored response; same key, other parameters: ``idempotency_error``). Tests
can make the next requests fail with a status or answer only after a delay (the request is
processed, its response comes too late), and turn checkout outcomes into events signed like
Stripe's webhooks (``stripe.WebhookSignature.generate_signature_header``).
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import json
import secrets
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import httpx
import stripe
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

FIXTURES = Path(__file__).parent.parent / "data" / "specs" / "stripe_openapi_fixtures3.json"
API_VERSION = "2025-09-30.clover"


def _fixtures() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(FIXTURES.read_text())["resources"]
    return data


def decode_form(body: bytes) -> dict[str, Any]:
    """``a[b][0][c]=1`` → ``{"a": {"b": [{"c": "1"}]}}`` (Stripe's parameter encoding)."""
    out: dict[str, Any] = {}
    for key, value in parse_qsl(body.decode(), keep_blank_values=True):
        parts = key.replace("]", "").split("[")
        node: Any = out
        for here, nxt in itertools.pairwise(parts):
            default: Any = [] if nxt.isdigit() else {}
            if isinstance(node, list):
                i = int(here)
                while len(node) <= i:
                    node.append(copy.copy(default))
                node = node[i]
            else:
                node = node.setdefault(here, default)
        last = parts[-1]
        if isinstance(node, list):
            i = int(last)
            while len(node) <= i:
                node.append(None)
            node[i] = value
        else:
            node[last] = value
    return out


def _error(status: int, kind: str, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": {"type": kind, "message": message, **extra}}, status_code=status)


class FakeStripe:
    def __init__(self, *, api_key: str, webhook_secret: str) -> None:
        self.api_key = api_key
        self.webhook_secret = webhook_secret
        self.fixtures = _fixtures()
        self.sessions: dict[str, dict[str, Any]] = {}
        self.charges: dict[str, dict[str, Any]] = {}  # by payment intent
        self.refunds: dict[str, dict[str, Any]] = {}
        self.events: list[dict[str, Any]] = []
        self.requests: list[tuple[str, str, str | None]] = []  # method, path, idempotency key
        self._idempotent: dict[str, tuple[str, dict[str, Any], int, dict[str, Any]]] = {}
        self._key_locks: dict[str, asyncio.Lock] = {}
        self._faults: list[tuple[str, float]] = []  # ("status", code) or ("delay", seconds)
        self.app = Starlette(
            routes=[
                Route("/v1/checkout/sessions", self._create_session, methods=["POST"]),
                Route("/v1/checkout/sessions/{sid}", self._get_session, methods=["GET"]),
                Route("/v1/refunds", self._create_refund, methods=["POST"]),
            ]
        )

    # --- test controls ---------------------------------------------------------------------

    def fail_next(self, count: int, status: int = 500) -> None:
        self._faults += [("status", float(status))] * count

    def stall_next(self, count: int, seconds: float) -> None:
        """Process the next requests but answer only after ``seconds`` (a lost response)."""
        self._faults += [("delay", seconds)] * count

    def created_sessions(self) -> int:
        return len(self.sessions)

    def complete(
        self, session_id: str, outcome: str, *, amount_total: int | None = None
    ) -> list[dict[str, Any]]:
        """The payer finishes checkout: ``paid``, ``async_succeeded``, ``async_failed`` or
        ``expired``. Returns the events Stripe would send, in order."""
        s = self.sessions[session_id]
        if amount_total is not None:
            s["amount_total"] = amount_total
        events = []
        if outcome == "expired":
            s.update(status="expired", payment_status="unpaid")
            return [self._event("checkout.session.expired", s)]
        s["status"] = "complete"
        if outcome == "paid":
            s["payment_status"] = "paid"
            self._charge(s)
            events.append(self._event("checkout.session.completed", s))
        elif outcome in ("async_succeeded", "async_failed"):
            s["payment_status"] = "unpaid"
            events.append(self._event("checkout.session.completed", s))
            if outcome == "async_succeeded":
                s["payment_status"] = "paid"
                self._charge(s)
                events.append(self._event("checkout.session.async_payment_succeeded", s))
            else:
                events.append(self._event("checkout.session.async_payment_failed", s))
        else:
            raise ValueError(outcome)
        return events

    def refund(self, payment_intent: str, amount: int) -> list[dict[str, Any]]:
        """A refund made in the dashboard: its events."""
        refund = self._refund(payment_intent, amount, {})
        return self._refund_events(refund)

    def signed(
        self, event: dict[str, Any], *, secret: str | None = None, at: int | None = None
    ) -> tuple[bytes, str]:
        payload = json.dumps(event, separators=(",", ":"))
        header = stripe.WebhookSignature.generate_signature_header(
            payload, secret or self.webhook_secret, timestamp=at
        )
        return payload.encode(), header

    async def deliver(
        self, client: httpx.AsyncClient, url: str, event: dict[str, Any]
    ) -> httpx.Response:
        body, header = self.signed(event)
        return await client.post(
            url,
            content=body,
            headers={"Stripe-Signature": header, "Content-Type": "application/json"},
        )

    # --- API ---------------------------------------------------------------------------------

    async def _guard(self, request: Request) -> tuple[Response | None, dict[str, Any]]:
        key = request.headers.get("idempotency-key")
        self.requests.append((request.method, request.url.path, key))
        if request.headers.get("authorization") != f"Bearer {self.api_key}":
            return _error(401, "invalid_request_error", "Invalid API Key provided"), {}
        params = decode_form(await request.body())
        if self._faults:
            kind, value = self._faults[0]
            if kind == "status":
                self._faults.pop(0)
                return _error(int(value), "api_error", "Injected failure"), params
        return None, params

    async def _idempotent_call(self, request: Request, handler: Any) -> Response:
        refused, params = await self._guard(request)
        if refused is not None:
            return refused
        delay = 0.0
        if self._faults and self._faults[0][0] == "delay":
            delay = self._faults.pop(0)[1]
        key = request.headers.get("idempotency-key")
        if key is None:
            status, body = handler(params)
        else:
            lock = self._key_locks.setdefault(key, asyncio.Lock())
            async with lock:
                stored = self._idempotent.get(key)
                fingerprint = f"{request.method} {request.url.path}"
                if stored is not None:
                    if stored[0] != fingerprint or stored[1] != params:
                        return _error(
                            400,
                            "idempotency_error",
                            "Keys for idempotent requests can only be used with the same "
                            "parameters they were first used with.",
                        )
                    status, body = stored[2], stored[3]
                else:
                    status, body = handler(params)
                    if status < 500:
                        self._idempotent[key] = (fingerprint, params, status, body)
        if delay:
            await asyncio.sleep(delay)
        headers = {"Idempotency-Key": key} if key else {}
        return JSONResponse(body, status_code=status, headers=headers)

    async def _create_session(self, request: Request) -> Response:
        return await self._idempotent_call(request, self._new_session)

    def _new_session(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        items = params.get("line_items") or []
        if params.get("mode") != "payment" or not items:
            return 400, {
                "error": {"type": "invalid_request_error", "message": "Missing line_items"}
            }
        total = 0
        currency = None
        for item in items:
            price = item.get("price_data") or {}
            total += int(price.get("unit_amount", "0")) * int(item.get("quantity", "1"))
            currency = price.get("currency")
        s = copy.deepcopy(self.fixtures["checkout.session"])
        sid = "cs_test_" + secrets.token_hex(24)
        now = int(time.time())
        s.update(
            id=sid,
            amount_subtotal=total,
            amount_total=total,
            currency=currency,
            client_reference_id=params.get("client_reference_id"),
            metadata=params.get("metadata") or {},
            success_url=params.get("success_url"),
            cancel_url=params.get("cancel_url"),
            locale=params.get("locale"),
            url=f"https://checkout.stripe.com/c/pay/{sid}",
            payment_intent="pi_" + secrets.token_hex(12),
            status="open",
            payment_status="unpaid",
            created=now,
            expires_at=now + 24 * 3600,
            customer_details=None,
            shipping_cost=None,
            total_details={"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
        )
        self.sessions[sid] = s
        return 200, s

    async def _get_session(self, request: Request) -> Response:
        refused, _ = await self._guard(request)
        if refused is not None:
            return refused
        s = self.sessions.get(request.path_params["sid"])
        if s is None:
            return _error(
                404, "invalid_request_error", "No such checkout.session", code="resource_missing"
            )
        return JSONResponse(s)

    async def _create_refund(self, request: Request) -> Response:
        return await self._idempotent_call(request, self._new_refund)

    def _new_refund(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        pi = params.get("payment_intent")
        charge = self.charges.get(pi or "")
        if charge is None:
            return 400, {
                "error": {
                    "type": "invalid_request_error",
                    "message": "No such payment_intent",
                    "code": "resource_missing",
                }
            }
        amount = int(params.get("amount") or charge["amount"] - charge["amount_refunded"])
        if amount <= 0 or amount > charge["amount"] - charge["amount_refunded"]:
            return 400, {
                "error": {
                    "type": "invalid_request_error",
                    "message": "Refund amount is greater than unrefunded amount on charge",
                    "code": "amount_too_large",
                }
            }
        refund = self._refund(pi or "", amount, params.get("metadata") or {})
        self._refund_events(refund)
        return 200, refund

    # --- objects and events ------------------------------------------------------------------

    def _charge(self, session: dict[str, Any]) -> None:
        c = copy.deepcopy(self.fixtures["charge"])
        c.update(
            id="ch_" + secrets.token_hex(12),
            amount=session["amount_total"],
            amount_captured=session["amount_total"],
            amount_refunded=0,
            refunded=False,
            captured=True,
            paid=True,
            status="succeeded",
            currency=session["currency"],
            payment_intent=session["payment_intent"],
            created=int(time.time()),
        )
        self.charges[session["payment_intent"]] = c

    def _refund(self, payment_intent: str, amount: int, metadata: dict[str, Any]) -> dict[str, Any]:
        charge = self.charges[payment_intent]
        r = copy.deepcopy(self.fixtures["refund"])
        r.update(
            id="re_" + secrets.token_hex(12),
            amount=amount,
            charge=charge["id"],
            currency=charge["currency"],
            payment_intent=payment_intent,
            status="succeeded",
            metadata=metadata,
            created=int(time.time()),
        )
        charge["amount_refunded"] += amount
        charge["refunded"] = charge["amount_refunded"] == charge["amount"]
        self.refunds[r["id"]] = r
        return dict(r)

    def _refund_events(self, refund: dict[str, Any]) -> list[dict[str, Any]]:
        charge = self.charges[refund["payment_intent"]]
        return [self._event("refund.created", refund), self._event("charge.refunded", charge)]

    def _event(self, kind: str, obj: dict[str, Any]) -> dict[str, Any]:
        e = copy.deepcopy(self.fixtures["event"])
        e.update(
            id="evt_" + secrets.token_hex(12),
            type=kind,
            created=int(time.time()),
            api_version=API_VERSION,
            pending_webhooks=1,
            data={"object": copy.deepcopy(obj)},
        )
        self.events.append(e)
        return dict(e)
