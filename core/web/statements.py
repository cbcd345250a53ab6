"""The privacy statement and the accessibility statement that Dutch public bodies publish."""
from flask import render_template
from flask_babel import get_locale

from core.auth.access import public
from core.web import bp


@bp.get("/privacy")
@public
def privacy():
    return render_template(f"statements/privacy.{get_locale().language}.html")


@bp.get("/accessibility")
@public
def accessibility():
    return render_template(f"statements/accessibility.{get_locale().language}.html")
