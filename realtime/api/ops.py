"""Liveness, readiness and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from .deps import Service, json_response

router = APIRouter(tags=["operations"])


@router.get(
    "/health",
    summary="Liveness: the process answers, with the instance id it printed at start",
)
async def health(service: Service) -> Response:
    return json_response({"status": "ok", "instance": service.settings.instance_id})


@router.get(
    "/ready",
    summary="Readiness: journal open, engine healthy, market data live",
    responses={503: {"description": "Not ready; the body says which check failed"}},
)
async def ready(service: Service) -> Response:
    checks = service.readiness()
    ok = all(checks.values())
    return json_response({"ready": ok, "checks": checks}, 200 if ok else 503)


@router.get(
    "/metrics",
    summary="Prometheus metrics (text exposition format)",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}, "description": "Metrics"}},
)
async def metrics(service: Service) -> Response:
    return Response(
        service.metrics.registry.render(), media_type="text/plain; version=0.0.4; charset=utf-8"
    )
