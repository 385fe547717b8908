"""A small, real OpenID Connect provider for the tests (django-oidc-provider in its own
Django project and process, with its own SQLite database): what SURFconext is in
production. Started by :mod:`tests.oidc`; see :mod:`tests.oidc_provider.serve`."""
