"""A small test driver for the sandbox over HTTP (httpx), shaped like Toast's API."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from billing.settings import DEFAULT_LOCATION, PLACEHOLDER_SECRET

LOC_A = DEFAULT_LOCATION
LOC_B = "0b7a3c52-7d1e-4b8e-9f2a-6c5d4e3f2a10"
UNKNOWN_LOC = "11111111-2222-4333-8444-555555555555"
APPROVE = "4111111111111111"
DECLINE = "4000000000000002"
INSUFFICIENT = "4000000000009995"
EXPIRED = "4000000000000069"
STOLEN = "4000000000009979"
LOST = "4000000000009987"
FRAUD = "4100000000000019"
PROCESSING_OK = "4000000000000507"
PROCESSING_DECLINE = "4000000000000515"
DECLINE_FIRST_N = "4000000000000341"
EXPIRES_NEXT_MONTH = "4000000000000416"
LOGIN = {
    "clientId": "sandbox-client",
    "clientSecret": PLACEHOLDER_SECRET,
    "userAccessType": "TOAST_MACHINE_CLIENT",
}


def card(number: str = APPROVE, usage: str | None = None, year: str = "2031") -> dict[str, Any]:
    return {
        "type": "CARD",
        "usage": usage,
        "card": {"number": number, "cvv": "123", "expiry": {"month": "12", "year": year}},
        "billingDetails": {"postalCode": "02110"},
    }


class Api:
    def __init__(self, client: httpx.Client) -> None:
        self.client = client
        self.token = ""

    def login(self) -> Api:
        response = self.client.post("/authentication/v1/authentication/login", json=LOGIN)
        response.raise_for_status()
        self.token = response.json()["token"]["accessToken"]
        return self

    def headers(self, location: str | None = LOC_A, **extra: str) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.token}", **extra}
        if location is not None:
            headers["Toast-Restaurant-External-ID"] = location
        return headers

    def post(
        self, path: str, body: Any = None, location: str | None = LOC_A, **extra: str
    ) -> httpx.Response:
        return self.client.post(path, json=body, headers=self.headers(location, **extra))

    def get(self, path: str, location: str | None = LOC_A) -> httpx.Response:
        return self.client.get(path, headers=self.headers(location))

    def delete(self, path: str, location: str | None = LOC_A) -> httpx.Response:
        return self.client.delete(path, headers=self.headers(location))

    # control API ------------------------------------------------------------------------
    def control(self, path: str, body: Any = None) -> Any:
        if body is None and not path.startswith(("/reset", "/tokens")):
            response = self.client.get("/__sandbox__" + path)
        else:
            response = self.client.post("/__sandbox__" + path, json=body or {})
        response.raise_for_status()
        return response.json()

    def advance(self, seconds: float) -> None:
        self.control("/clock", {"advanceSeconds": seconds})

    def items(self, listing: str) -> list[dict[str, Any]]:
        return list(self.control(listing)["items"])

    def faults(self, **settings: Any) -> None:
        self.control("/faults", settings)

    # flows ------------------------------------------------------------------------------
    def customer(self, location: str = LOC_A) -> str:
        response = self.post(
            "/v1/customers",
            {"externalReferenceId": str(uuid.uuid4()), "description": "pat@example.com"},
            location,
        )
        assert response.status_code == 200, response.text
        return str(response.json()["id"])

    def card_on_file(
        self, number: str = APPROVE, sit: str = "RECURRING", location: str = LOC_A
    ) -> dict[str, Any]:
        return dict(
            self.control(
                "/cards-on-file",
                {"location": location, "cardNumber": number, "standingInstructionType": sit},
            )
        )

    def create_pi(self, location: str = LOC_A, **fields: Any) -> httpx.Response:
        body = {
            "amount": 1000,
            "currency": "USD",
            "externalReferenceId": str(uuid.uuid4()),
            "captureMethod": "MANUAL",
            "email": "pat@example.com",
            **fields,
        }
        return self.post("/v1/payment-intents", body, location)

    def new_pi(self, location: str = LOC_A, **fields: Any) -> dict[str, Any]:
        response = self.create_pi(location, **fields)
        assert response.status_code == 200, response.text
        return dict(response.json())

    def add_card(
        self, secret: str, number: str = APPROVE, usage: str | None = None, key: str | None = None
    ) -> httpx.Response:
        return self.post(
            "/v1/payment-methods",
            card(number, usage),
            None,
            **{"Toast-Session-Secret": secret, "Toast-Idempotency-Key": key or str(uuid.uuid4())},
        )

    def confirm_pi(
        self, intent: dict[str, Any], location: str = LOC_A, **body: Any
    ) -> httpx.Response:
        payload = {"sessionSecret": intent["sessionSecret"], **body}
        return self.post(f"/v1/payment-intents/{intent['id']}/confirm", payload, location)

    def cit(self, number: str = APPROVE, **fields: Any) -> dict[str, Any]:
        """A customer-initiated intent with a card scoped to it, confirmed."""
        intent = self.new_pi(**fields)
        method = self.add_card(intent["sessionSecret"], number)
        assert method.status_code == 200, method.text
        response = self.confirm_pi(intent, paymentMethodId=method.json()["id"])
        assert response.status_code == 200, response.text
        return dict(response.json())

    def mit(self, mandate_id: str, location: str = LOC_A, **fields: Any) -> dict[str, Any]:
        intent = self.new_pi(location, offSession=True, mandateId=mandate_id, **fields)
        response = self.confirm_pi(intent, location)
        assert response.status_code == 200, response.text
        return dict(response.json())

    def pay_check(self, intent: dict[str, Any], location: str = LOC_A) -> httpx.Response:
        tip = intent["amountDetails"]["tip"]
        payment = {
            "guid": intent["externalReferenceId"],
            "type": "CREDIT",
            "amount": (intent["amount"] - tip) / 100,
            "tipAmount": tip / 100,
        }
        return self.post("/orders/v2/orders", {"checks": [{"payments": [payment]}]}, location)

    def setup_intent(self, **fields: Any) -> dict[str, Any]:
        response = self.post("/v1/setup-intents", fields, None)
        assert response.status_code == 201, response.text
        return dict(response.json())


def assert_error(response: httpx.Response, status: int) -> dict[str, Any]:
    """The status, and Toast's ErrorMessage body shape."""
    assert response.status_code == status, response.text
    body = response.json()
    assert body["status"] == status
    assert {"code", "message", "requestId", "errors", "canRetry"} <= body.keys()
    return dict(body)
