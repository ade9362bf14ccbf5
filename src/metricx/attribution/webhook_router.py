"""POST /api/webhooks/shopify/{topic}: verify, route, deduplicate, store; answer fast.

The topic in the path is URL-safe (`orders-create`; `orders/create` also routes);
X-Shopify-Topic, when present, is the one applied. The HMAC is checked on the raw body
before anything else, against every secret in METRICX_SHOPIFY_APP_SECRET (comma
separated: current first, then the previous one during a rotation). A bad or missing
signature is 401 and nothing is read from or written to the database.
"""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Request

from metricx.attribution import service, shopify, webhook_service
from metricx.deps import SessionDep, SettingsDep
from metricx.errors import BadRequest, NotAuthenticated, NotFound

router = APIRouter(prefix="/api/webhooks/shopify", tags=["webhooks"])


@router.post("/{topic:path}")
async def shopify_webhook(
    topic: str, request: Request, session: SessionDep, settings: SettingsDep
) -> dict[str, Any]:
    """Receive one Shopify delivery."""
    raw = await request.body()
    secret = settings.shopify_app_secret.get_secret_value() if settings.shopify_app_secret else ""
    if not shopify.signature_valid(
        raw, request.headers.get("x-shopify-hmac-sha256"), shopify.secrets_from(secret)
    ):
        raise NotAuthenticated("The webhook signature is missing or invalid.")
    name = shopify.normalise_topic(request.headers.get("x-shopify-topic")) or (
        shopify.normalise_topic(topic)
    )
    if name is None:
        raise NotFound(f"Unsupported webhook topic {topic!r}.")
    try:
        payload = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BadRequest("The webhook body is not valid JSON.", fields=["body"]) from exc
    if not isinstance(payload, dict):
        raise BadRequest("The webhook body must be a JSON object.", fields=["body"])
    headers = {k.lower(): v for k, v in request.headers.items()}
    shop = headers.get("x-shopify-shop-domain") or str(payload.get("shop_domain") or "")
    status, changed = await webhook_service.process(
        session,
        topic=name,
        shop_domain=shop,
        webhook_id=webhook_service.delivery_id(headers, raw),
        payload=payload,
    )
    if name.startswith(("orders/", "refunds/")):
        for workspace_id in changed:
            service.schedule_attribution(session, workspace_id)
    return {"status": status, "topic": name}
