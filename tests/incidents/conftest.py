"""Fixtures for the incident tests."""

import pytest


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Argon2 makes every created user cost a tenth of a second; these tests check
    permissions, not hashing."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
