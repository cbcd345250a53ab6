"""Health endpoints for load balancers and orchestrators."""
from flask import Blueprint, current_app
from sqlalchemy import text

from core.auth.access import public
from core.extensions import db

bp = Blueprint("health", __name__)


@bp.get("/healthz")
@public
def healthz():
    """The process is up. No authentication, no data."""
    return {"status": "ok"}


@bp.get("/readyz")
@public
def readyz():
    """The database and, when configured, Redis answer; 503 names what does not."""
    checks, failing = {}, []
    try:
        db.session.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:  # any failure means not ready
        db.session.rollback()
        checks["database"] = f"unreachable: {type(exc).__name__}"
        failing.append("database")
    url = current_app.config.get("REDIS_URL")
    if url:
        import redis

        try:
            client = redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2)
            client.ping()
            checks["redis"] = "ok"
        except Exception as exc:  # noqa: BLE001
            checks["redis"] = f"unreachable: {type(exc).__name__}"
            failing.append("redis")
    body = {"status": "ok" if not failing else "unavailable", "checks": checks}
    if failing:
        body["failing"] = failing
    return body, 503 if failing else 200
