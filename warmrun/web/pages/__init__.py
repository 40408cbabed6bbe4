"""Server-rendered pages for residents, partners, organizers and the public.

Pages call the same services as the API. Forms post with a CSRF token; successful posts
redirect (303) so a reload never repeats them; a failed post shows the page again with the
error in the visitor's language.
"""

from __future__ import annotations

from starlette.routing import Route

from warmrun.web.endpoints import Access
from warmrun.web.pages.base import error_page, page
from warmrun.web.pages.bookings import desk_routes
from warmrun.web.pages.contests import (
    badges_page,
    challenge_page,
    challenges_page,
    households_page,
)
from warmrun.web.pages.events import checkin_page, event_page, events_page, print_page
from warmrun.web.pages.family import family_page
from warmrun.web.pages.figures import figures_page, ratings_page
from warmrun.web.pages.first_run import first_run_page
from warmrun.web.pages.grants import grants_page
from warmrun.web.pages.people import audit_page, invite_page, staff_page
from warmrun.web.pages.public import (
    campaign_page,
    donate_page,
    home,
    language,
    login_page,
    logout_page,
    signup_page,
    thanks_page,
)
from warmrun.web.pages.resident import (
    account_page,
    card_page,
    me_page,
    points_page,
    redemption_page,
    run_page,
    runs_page,
    shop_page,
)
from warmrun.web.pages.setup import setup_campaign, setup_home
from warmrun.web.pages.staff import (
    partner_dashboard,
    partner_home,
    report_page,
    review_page,
)
from warmrun.web.pages.strava import strava_callback, strava_connect, strava_page

__all__ = ["error_page", "routes"]


def routes() -> list[Route]:
    get, both = ["GET"], ["GET", "POST"]
    return [
        Route("/", page(Access.PUBLIC, home), methods=get),
        Route("/c/{code}", page(Access.PUBLIC, campaign_page), methods=get),
        Route("/c/{code}/donate", page(Access.PUBLIC, donate_page, form=True), methods=["POST"]),
        Route("/c/{code}/thanks", page(Access.PUBLIC, thanks_page), methods=get),
        Route("/signup", page(Access.PUBLIC, signup_page, form=True), methods=both),
        Route("/login", page(Access.PUBLIC, login_page, form=True), methods=both),
        Route("/first-run", page(Access.PUBLIC, first_run_page, form=True), methods=both),
        Route("/logout", page(Access.SIGNED_IN, logout_page, form=True), methods=["POST"]),
        Route("/lang", page(Access.PUBLIC, language, form=True), methods=["POST"]),
        Route("/me", page(Access.RESIDENT, me_page, form=True), methods=both),
        Route("/me/runs", page(Access.RESIDENT, runs_page), methods=get),
        Route("/me/runs/{run_id:int}", page(Access.RESIDENT, run_page), methods=get),
        Route("/me/points", page(Access.RESIDENT, points_page), methods=get),
        Route("/me/shop", page(Access.RESIDENT, shop_page, form=True), methods=both),
        Route(
            "/me/redemptions/{code}",
            page(Access.RESIDENT, redemption_page, form=True),
            methods=both,
        ),
        Route("/me/account", page(Access.SIGNED_IN, account_page, form=True), methods=both),
        Route("/me/strava", page(Access.RESIDENT, strava_page, form=True), methods=both),
        Route("/me/card", page(Access.RESIDENT, card_page), methods=get),
        Route("/me/family", page(Access.RESIDENT, family_page, form=True), methods=both),
        Route("/me/ratings", page(Access.RESIDENT, ratings_page, form=True), methods=both),
        Route("/checkin/{token}", page(Access.RESIDENT, checkin_page, form=True), methods=both),
        Route("/events/{event_id:int}/print", page(Access.ORGANIZER, print_page), methods=get),
        Route("/events", page(Access.ORGANIZER, events_page, form=True), methods=both),
        Route(
            "/events/{event_id:int}", page(Access.ORGANIZER, event_page, form=True), methods=both
        ),
        Route("/strava/connect", page(Access.RESIDENT, strava_connect), methods=get),
        Route("/strava/callback", page(Access.RESIDENT, strava_callback), methods=get),
        *staff_routes(),
    ]


def staff_routes() -> list[Route]:
    """Partners', organizers' and desk staff's pages."""
    get, both = ["GET"], ["GET", "POST"]
    return [
        Route("/partner", page(Access.PARTNER, partner_home), methods=get),
        Route("/partner/{code}", page(Access.PARTNER, partner_dashboard), methods=get),
        Route("/review", page(Access.ORGANIZER, review_page, form=True), methods=both),
        *desk_routes(),
        Route("/reports/{code}", page(Access.SIGNED_IN, report_page), methods=get),
        Route("/setup/{code}/points", page(Access.ORGANIZER, grants_page, form=True), methods=both),
        Route("/setup/{code}/figures", page(Access.ORGANIZER, figures_page), methods=get),
        Route("/staff", page(Access.ORGANIZER, staff_page, form=True), methods=both),
        Route("/invite/{token}", page(Access.PUBLIC, invite_page, form=True), methods=both),
        Route("/audit", page(Access.ORGANIZER, audit_page), methods=get),
        Route("/setup", page(Access.ORGANIZER, setup_home, form=True), methods=both),
        # Before /setup/{code}, which would take "households" for a campaign code.
        Route(
            "/setup/households", page(Access.ORGANIZER, households_page, form=True), methods=both
        ),
        Route("/setup/{code}", page(Access.ORGANIZER, setup_campaign, form=True), methods=both),
        Route("/setup/{code}/badges", page(Access.ORGANIZER, badges_page, form=True), methods=both),
        Route(
            "/setup/{code}/challenges",
            page(Access.ORGANIZER, challenges_page, form=True),
            methods=both,
        ),
        Route(
            "/setup/{code}/challenges/{challenge_id:int}",
            page(Access.ORGANIZER, challenge_page, form=True),
            methods=both,
        ),
    ]
