"""Sign in, register, sign out, and the workspace chooser at `/`."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response

from metricx.auth import service as auth_service
from metricx.auth.deps import SESSION_COOKIE
from metricx.deps import SessionDep
from metricx.errors import MetricxError
from metricx.web import queries
from metricx.web.pages import page_user, safe_next
from metricx.web.security import CSRF_COOKIE, CSRF_FIELD, csrf_ok, session_csrf
from metricx.web.templating import render
from metricx.workspaces import service as ws_service

router = APIRouter(include_in_schema=False)

CSRF_MESSAGE = "Your form expired. Reload the page and try again."


def _secure(request: Request) -> bool:
    configured = request.app.state.settings.cookie_secure
    return configured if configured is not None else request.url.scheme == "https"


def _signed_in(request: Request, token: str, to: str) -> RedirectResponse:
    """Set the session cookie and its session-bound CSRF companion (as the auth API does)."""
    settings = request.app.state.settings
    response = RedirectResponse(to, status_code=303)
    max_age = settings.session_ttl_hours * 3600
    secure = _secure(request)
    csrf = session_csrf(settings.secret, token)
    for name, value, httponly in ((SESSION_COOKIE, token, True), (CSRF_COOKIE, csrf, False)):
        response.set_cookie(
            name,
            value,
            max_age=max_age,
            httponly=httponly,
            samesite="lax",
            secure=secure,
            path="/",
        )
    return response


async def _form(request: Request) -> dict[str, str]:
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str)}


@router.get("/login")
async def login_page(request: Request) -> Response:
    """The sign-in form."""
    return render(
        request,
        "login.html",
        {"next": safe_next(request.query_params.get("next")), "email": "", "error": None},
    )


@router.post("/login")
async def login_submit(request: Request, session: SessionDep) -> Response:
    """Check the credentials, start a session, go where the user was heading."""
    form = await _form(request)
    next_path = safe_next(form.get("next"))
    values = {"next": next_path, "email": form.get("email", "")[:320]}
    if not csrf_ok(request, form.get(CSRF_FIELD)):
        return render(request, "login.html", {**values, "error": CSRF_MESSAGE}, 403)
    try:
        user = await auth_service.authenticate(
            session, form.get("email", ""), form.get("password", "")
        )
    except MetricxError as exc:
        return render(request, "login.html", {**values, "error": exc.detail}, exc.status_code)
    token = await auth_service.start_session(
        session, request.app.state.settings, user, request.headers.get("user-agent", "")
    )
    return _signed_in(request, token, next_path)


@router.get("/register")
async def register_page(request: Request) -> Response:
    """The sign-up form."""
    return render(request, "register.html", {"email": "", "name": "", "error": None})


@router.post("/register")
async def register_submit(request: Request, session: SessionDep) -> Response:
    """Create the account and sign in; the empty state then offers to create a workspace."""
    form = await _form(request)
    values = {"email": form.get("email", "")[:320], "name": form.get("name", "")[:200]}
    if not csrf_ok(request, form.get(CSRF_FIELD)):
        return render(request, "register.html", {**values, "error": CSRF_MESSAGE}, 403)
    try:
        user = await auth_service.create_user(
            session, values["email"], form.get("password", ""), values["name"]
        )
    except MetricxError as exc:
        return render(request, "register.html", {**values, "error": exc.detail}, exc.status_code)
    token = await auth_service.start_session(
        session, request.app.state.settings, user, request.headers.get("user-agent", "")
    )
    return _signed_in(request, token, "/")


@router.post("/logout")
async def logout(request: Request, session: SessionDep) -> Response:
    """End the session (POST with CSRF, so no other site can sign the user out)."""
    form = await _form(request)
    if not csrf_ok(request, form.get(CSRF_FIELD)):
        return render(
            request,
            "error.html",
            {
                "title": "Form expired",
                "message": CSRF_MESSAGE,
                "action_href": "/",
                "action_label": "Back",
            },
            403,
        )
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        await auth_service.end_session(session, token)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    response.delete_cookie(CSRF_COOKIE, path="/")
    return response


@router.get("/")
async def home(request: Request, session: SessionDep) -> Response:
    """The first workspace, or an empty state that creates one."""
    user = await page_user(request, session)
    workspaces = await queries.workspaces_for_user(session, user.id)
    if workspaces and not request.query_params.get("new"):
        return RedirectResponse(f"/w/{workspaces[0]['id']}", status_code=303)
    return render(request, "welcome.html", {"user": user, "error": None, "name": ""})


@router.post("/workspaces")
async def create_workspace(request: Request, session: SessionDep) -> Response:
    """Create a workspace owned by the signed-in user and open it."""
    user = await page_user(request, session)
    form = await _form(request)
    context = {"user": user, "name": form.get("name", "")[:200]}
    if not csrf_ok(request, form.get(CSRF_FIELD)):
        return render(request, "welcome.html", {**context, "error": CSRF_MESSAGE}, 403)
    try:
        workspace = await ws_service.create_workspace(
            session,
            user,
            name=form.get("name", ""),
            timezone=form.get("timezone") or "UTC",
            currency=form.get("currency") or "USD",
        )
    except MetricxError as exc:
        return render(request, "welcome.html", {**context, "error": exc.detail}, exc.status_code)
    return RedirectResponse(f"/w/{workspace.id}/settings", status_code=303)
