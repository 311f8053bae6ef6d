"""The doctor workplace ТМ.РЕГИЗ (SPEC D1-D5, D9, P7): blueprint ``workplace``."""

from core.workplace import journal, schedule_views, wizard  # noqa: F401  (they add views)
from core.workplace.views import blueprint

__all__ = ["blueprint"]
