"""The browser fixtures of the registration tests, shared with the other browser tests."""

from tests.e2e.test_registration_browser import (  # noqa: F401 - fixtures
    allow_orm_next_to_playwright,
    browser,
)
