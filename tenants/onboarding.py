"""Onboarding: add consortia and municipalities, from the CLI, the API or a region file.

Every function validates first and raises :class:`marshmallow.ValidationError`
naming each wrong field; nothing is written unless all of it is valid. The
caller commits.
"""
from __future__ import annotations

import re
import tomllib
from pathlib import Path

from marshmallow import Schema, ValidationError, fields, validate
from sqlalchemy import select

from core.extensions import db
from core.policy import service
from tenants.resolution import forget
from tenants.models import ACTIVE, STATUSES, Consortium, Municipality

CBS_CODE = re.compile(r"^GM\d{4}$")
SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")

#: Slugs that name routes of the platform itself and so cannot name a tenant.
RESERVED_SLUGS = frozenset(
    {"api", "static", "login", "logout", "healthz", "readyz", "language", "consortia", "me",
     "docs", "openapi.json", "admin", "platform", "account", "public", "favicon.ico",
     "privacy", "accessibility", "funder", "regio", "invitation", "password-forgot", "password-reset",
     "reauthenticate"}
)


def _not_reserved(value: str) -> None:
    if value in RESERVED_SLUGS:
        raise ValidationError(f"'{value}' is reserved for the platform's own pages")


class ConsortiumSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=120))
    slug = fields.String(
        required=True,
        validate=[validate.Regexp(SLUG, error="use lower-case letters, digits and hyphens"), _not_reserved],
    )


class OnboardMunicipalitySchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=120))
    cbs_code = fields.String(
        required=True,
        validate=validate.Regexp(CBS_CODE, error="a CBS municipality code is GM followed by 4 digits, e.g. GM0222"),
    )
    slug = fields.String(
        required=True,
        validate=[validate.Regexp(SLUG, error="use lower-case letters, digits and hyphens"), _not_reserved],
    )
    inhabitants = fields.Integer(required=True, strict=True, validate=validate.Range(min=0))
    status = fields.String(load_default=ACTIVE, validate=validate.OneOf(STATUSES))
    small_count_threshold = fields.Integer(
        load_default=4, strict=True, validate=validate.Range(min=1, max=20),
        metadata={"description": "counts from 1 to this are withheld in funders' breakdowns (docs/reports.md)"})


def add_consortium(name: str, slug: str) -> Consortium:
    """Create a consortium; refuses a name or slug already taken."""
    data = ConsortiumSchema().load({"name": name, "slug": slug})
    errors = {}
    if db.session.scalar(select(Consortium.id).where(Consortium.slug == data["slug"])):
        errors["slug"] = [f"a consortium with slug '{data['slug']}' already exists"]
    if db.session.scalar(select(Consortium.id).where(Consortium.name == data["name"])):
        errors["name"] = [f"a consortium named '{data['name']}' already exists"]
    if errors:
        raise ValidationError(errors)
    consortium = Consortium(**data)
    db.session.add(consortium)
    db.session.flush()
    return consortium


def add_municipality(consortium: Consortium, **values) -> Municipality:
    """Onboard a municipality into *consortium*; refuses a CBS code or slug already taken."""
    data = OnboardMunicipalitySchema().load(values)
    errors = _duplicates(data)
    if errors:
        raise ValidationError(errors)
    municipality = Municipality(consortium=consortium, **data)
    db.session.add(municipality)
    db.session.flush()
    service.start_from_template(municipality)
    return municipality


def _duplicates(data: dict, existing: Municipality | None = None) -> dict:
    errors = {}
    for field in ("cbs_code", "slug"):
        column = getattr(Municipality, field)
        other = db.session.scalar(select(Municipality).where(column == data[field]))
        if other is not None and other is not existing:
            errors[field] = [f"{field} '{data[field]}' is already used by {other.name}"]
    return errors


def set_status(municipality: Municipality, status: str) -> None:
    """Suspend or reactivate; other processes notice within ``AUTH_CACHE_SECONDS``."""
    if status not in STATUSES:
        raise ValidationError({"status": [f"must be one of {', '.join(STATUSES)}"]})
    municipality.status = status
    forget(municipality.slug)


class PolicyTemplateSchema(Schema):
    note = fields.String(load_default=None, validate=validate.Length(max=2000))
    plugins = fields.Dict(keys=fields.String(), values=fields.Dict(), required=True)


class RegionFileSchema(Schema):
    consortium = fields.Nested(ConsortiumSchema, required=True)
    municipality = fields.List(fields.Nested(OnboardMunicipalitySchema), required=True, validate=validate.Length(min=1))
    policy_template = fields.Nested(PolicyTemplateSchema, load_default=None)


def read_region_file(path: str | Path) -> dict:
    """Parse and validate a region file (TOML); see ``tenants/regions/``."""
    try:
        raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValidationError({"file": [f"{path} does not exist"]}) from None
    except tomllib.TOMLDecodeError as exc:
        raise ValidationError({"file": [f"{path} is not valid TOML: {exc}"]}) from None
    data = RegionFileSchema().load(raw)
    for field in ("cbs_code", "slug", "name"):
        values = [m[field] for m in data["municipality"]]
        doubles = sorted({v for v in values if values.count(v) > 1})
        if doubles:
            raise ValidationError({"municipality": [f"{field} appears more than once: {', '.join(doubles)}"]})
    return data


def apply_region(data: dict) -> tuple[Consortium, list[str]]:
    """Apply a validated region file idempotently; returns the consortium and what changed.

    The policy template (if the file has one) is set first, so that new
    members start from it; members that have no policy yet get it too.
    """
    changes: list[str] = []
    c = data["consortium"]
    consortium = db.session.scalar(select(Consortium).where(Consortium.slug == c["slug"]))
    if consortium is None:
        consortium = add_consortium(c["name"], c["slug"])
        changes.append(f"created consortium {consortium.name}")
    elif consortium.name != c["name"]:
        changes.append(f"renamed consortium {consortium.name} to {c['name']}")
        consortium.name = c["name"]
    changes += _apply_template(consortium, data.get("policy_template"))
    for m in data["municipality"]:
        existing = db.session.scalar(select(Municipality).where(Municipality.cbs_code == m["cbs_code"]))
        if existing is None:
            add_municipality(consortium, **m)
            changes.append(f"added {m['name']} ({m['cbs_code']})")
            continue
        if existing.consortium_id != consortium.id:
            raise ValidationError(
                {"municipality": [f"{m['cbs_code']} belongs to consortium {existing.consortium.name}, not {consortium.name}"]}
            )
        errors = _duplicates(m, existing)
        if errors:
            raise ValidationError(errors)
        for field in ("name", "slug", "inhabitants", "small_count_threshold"):
            if getattr(existing, field) != m[field]:
                changes.append(f"{existing.name}: {field} {getattr(existing, field)} -> {m[field]}")
                setattr(existing, field, m[field])
        if data.get("policy_template") and service.current(existing.id).version == 0:
            service.start_from_template(existing)
            changes.append(f"{existing.name}: policy started from the template")
    db.session.flush()
    return consortium, changes


def _apply_template(consortium: Consortium, template: dict | None) -> list[str]:
    if not template:
        return []
    current = service.template(consortium.id)
    wanted = service.validate(template["plugins"])
    if current is not None and current.plugins == wanted:
        return []
    row = service.set_template(consortium.id, wanted, template.get("note"))
    return [f"policy template version {row.version}"]


def region_files() -> list[Path]:
    """The region files shipped with the platform (the demo applies these)."""
    return sorted((Path(__file__).parent / "regions").glob("*.toml"))
