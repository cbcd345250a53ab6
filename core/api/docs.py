"""Interactive API documentation (Swagger UI), served from this server: no CDN."""
from flask import Blueprint, render_template, send_from_directory
from swagger_ui_bundle import swagger_ui_path

from core.auth.access import public

bp = Blueprint("api_docs", __name__, url_prefix="/api/v1/docs")

#: Swagger UI sets inline styles and data: images; scripts still only from this server.
DOCS_CSP = "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'"


@bp.get("/")
@public
def index():
    return render_template("api_docs.html"), 200, {"Content-Security-Policy": DOCS_CSP}


@bp.get("/assets/<path:filename>")
@public
def assets(filename):
    return send_from_directory(swagger_ui_path, filename, max_age=86400)
