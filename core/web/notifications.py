"""A user's notifications in a municipality: unread first, each linked to its subject where it has a page."""
from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user

from core import notifications as notification_service
from core.auth import roles as R
from core.auth.access import requires
from core.extensions import db
from core.messages import Message, render
from core.scheduling.models import Notification
from core.web import bp
from core.web.forms import PostForm
from core.web.nav import page_url

STAFF = (R.COORDINATOR, R.TENANT_ADMIN)
#: Notifications shown (the unread ones first, then the newest).
LIMIT = 100

#: The page of a notification's subject: subject type -> (endpoint, URL variable).
SUBJECT_PAGES = {"match": ("web.match", "match_id"), "family": ("web.family", "family_id"),
                 "evaluation": ("web.evaluation", "evaluation_id"), "import": ("web.import_job", "import_job_id")}


def subject_url(notification: Notification) -> str | None:
    where = SUBJECT_PAGES.get(notification.subject_type or "")
    if where is None or notification.subject_id is None:
        return None
    return page_url(where[0], **{where[1]: notification.subject_id})


@bp.get("/<municipality>/notifications")
@requires(*STAFF)
def notifications():
    statement = notification_service.of_user(current_user.id).order_by(
        Notification.read_at.is_not(None), Notification.id.desc()).limit(LIMIT)
    rows = db.session.scalars(statement).all()
    shown = [{"row": n, "text": render(Message.from_dict(n.message)), "url": subject_url(n)} for n in rows]
    unread = sum(1 for n in rows if n.read_at is None)
    return render_template("notifications/list.html", notifications=shown, unread=unread)


@bp.post("/<municipality>/notifications/<int:notification_id>/read")
@requires(*STAFF)
def notification_read(notification_id):
    notification = db.session.get(Notification, notification_id)
    # only one's own: another user's stays as it is, with the same answer (nothing to learn from it)
    if PostForm().validate_on_submit() and notification is not None and notification.user_id == current_user.id:
        notification_service.mark_read(notification)
        db.session.commit()
        flash(_("The notification is marked as read."), "success")
    return redirect(url_for("web.notifications"))


@bp.post("/<municipality>/notifications/read-all")
@requires(*STAFF)
def notifications_read_all():
    if PostForm().validate_on_submit():
        marked = notification_service.mark_all_read(current_user.id)
        db.session.commit()
        flash(_("All notifications are marked as read (%(count)s).", count=marked), "success")
    return redirect(url_for("web.notifications"))
