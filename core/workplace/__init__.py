"""The doctor workplace ТМ.РЕГИЗ (SPEC D1-D5, D9): blueprint ``workplace``."""

from core.workplace.views import blueprint

__all__ = ["blueprint"]
