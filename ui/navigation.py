"""Which pages a visitor sees, by role (pure: no streamlit import, unit-tested).

The page list is data: ``PAGES``. A page lists the actions that open it (any one suffices); pages
with none are public. ``app.py`` turns the visible specs into ``st.Page`` objects, and every page
checks the same actions again itself (``ui.auth.require_page``), so a hidden page is also a closed
one.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from accounts.models import User
from accounts.permissions import Action, can


class PageSpec(BaseModel):
    """One page of the app and who may open it."""

    model_config = ConfigDict(frozen=True)

    path: str
    title_key: str
    icon: str
    section_key: str
    actions: tuple[Action, ...] = ()
    logged_out_only: bool = False

    def visible_to(self, user: User | None) -> bool:
        """True when the page belongs in this visitor's navigation."""
        if self.logged_out_only:
            return user is None
        if not self.actions:
            return True
        return user is not None and any(can(user, action) for action in self.actions)


LOGIN = PageSpec(
    path="ui/pages/login.py",
    title_key="page_login",
    icon="🔐",
    section_key="section_account",
    logged_out_only=True,
)
CONSOLE = PageSpec(
    path="ui/pages/console.py",
    title_key="page_console",
    icon="🎧",
    section_key="section_agent",
    actions=(Action.USE_CONSOLE,),
)
SEARCH = PageSpec(
    path="ui/pages/knowledge_search.py",
    title_key="page_search",
    icon="🔎",
    section_key="section_agent",
    actions=(Action.VIEW_KB,),
)
FLOOR = PageSpec(
    path="ui/pages/floor.py",
    title_key="page_floor",
    icon="📡",
    section_key="section_agent",
    actions=(Action.MONITOR_CALLS,),
)
MY_QUALITY = PageSpec(
    path="ui/pages/my_quality.py",
    title_key="page_my_quality",
    icon="📝",
    section_key="section_agent",
    actions=(Action.USE_CONSOLE,),
)
DASHBOARD = PageSpec(
    path="ui/pages/dashboard.py",
    title_key="page_dashboard",
    icon="📊",
    section_key="section_quality",
    actions=(Action.MONITOR_CALLS,),
)
QUALITY = PageSpec(
    path="ui/pages/quality_review.py",
    title_key="page_quality",
    icon="🧪",
    section_key="section_quality",
    actions=(Action.MONITOR_CALLS,),
)
APPROVALS = PageSpec(
    path="ui/pages/approvals.py",
    title_key="page_approvals",
    icon="🖊️",
    section_key="section_agent",
    actions=(Action.DECIDE_APPROVALS,),
)
STUDIO_KB = PageSpec(
    path="ui/pages/studio_kb.py",
    title_key="page_studio_kb",
    icon="📚",
    section_key="section_studio",
    actions=(Action.EDIT_KB, Action.PUBLISH),
)
STUDIO_IMPORT = PageSpec(
    path="ui/pages/studio_import.py",
    title_key="page_studio_import",
    icon="📥",
    section_key="section_studio",
    actions=(Action.EDIT_KB,),
)
STUDIO_REVIEW = PageSpec(
    path="ui/pages/studio_review.py",
    title_key="page_studio_review",
    icon="✅",
    section_key="section_studio",
    actions=(Action.SUBMIT_REVIEW, Action.PUBLISH),
)
STUDIO_EVAL = PageSpec(
    path="ui/pages/studio_eval.py",
    title_key="page_studio_eval",
    icon="📈",
    section_key="section_studio",
    actions=(Action.RUN_EVAL,),
)
STUDIO_FEEDBACK = PageSpec(
    path="ui/pages/studio_feedback.py",
    title_key="page_studio_feedback",
    icon="👍",
    section_key="section_studio",
    actions=(Action.EDIT_KB,),
)
STUDIO_ROUTING = PageSpec(
    path="ui/pages/studio_routing.py",
    title_key="page_studio_routing",
    icon="🔀",
    section_key="section_studio",
    actions=(Action.REVIEW_ROUTING,),
)
STUDIO_RETRAIN = PageSpec(
    path="ui/pages/studio_retrain.py",
    title_key="page_studio_retrain",
    icon="🧠",
    section_key="section_studio",
    actions=(Action.RETRAIN,),
)
AUDIT = PageSpec(
    path="ui/pages/audit.py",
    title_key="page_audit",
    icon="🧾",
    section_key="section_admin",
    actions=(Action.VIEW_AUDIT,),
)
USERS = PageSpec(
    path="ui/pages/users.py",
    title_key="page_users",
    icon="👥",
    section_key="section_admin",
    actions=(Action.MANAGE_USERS,),
)
CHAT = PageSpec(
    path="ui/pages/chat.py", title_key="page_chat", icon="💬", section_key="section_customer"
)

PAGES: tuple[PageSpec, ...] = (
    LOGIN,
    CONSOLE,
    FLOOR,
    APPROVALS,
    SEARCH,
    MY_QUALITY,
    DASHBOARD,
    QUALITY,
    STUDIO_KB,
    STUDIO_IMPORT,
    STUDIO_REVIEW,
    STUDIO_EVAL,
    STUDIO_FEEDBACK,
    STUDIO_ROUTING,
    STUDIO_RETRAIN,
    AUDIT,
    USERS,
    CHAT,
)

# the landing page: the first of these the visitor may open
_LANDING = (LOGIN, CONSOLE, STUDIO_KB, STUDIO_REVIEW, SEARCH, CHAT)


def visible_pages(user: User | None) -> list[PageSpec]:
    """The pages this visitor may open, in navigation order (grouped by section as listed)."""
    return [page for page in PAGES if page.visible_to(user)]


def landing_page(pages: list[PageSpec]) -> PageSpec:
    """The page to open first: the login page before login, the console for agents, the studio
    for trainers and reviewers, else the first visible page."""
    for page in _LANDING:
        if page in pages:
            return page
    return pages[0]
