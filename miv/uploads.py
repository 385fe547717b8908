"""A size cap on request bodies that refuses before anything is stored.

Without it Django reads a whole upload to a temporary file before a form can look at its
size. ``MIV_UPLOAD_MAX_BYTES`` (default: the import limit plus 1 MiB for the other form
fields) is enforced twice:

* :class:`RequestSizeLimitMiddleware`, first in ``MIDDLEWARE``: a request whose
  ``Content-Length`` is larger gets 413 before its body is read (a page in the site's
  layout, JSON for the API).
* :class:`CappedUploadHandler`, first in ``FILE_UPLOAD_HANDLERS``: counts the bytes of the
  files as they stream in and stops at the cap, for a body whose length was not announced
  or was announced wrongly. The partial file is discarded; the answer is the same 413.

The reverse proxy should refuse such bodies before they reach MIV at all (nginx:
``client_max_body_size``, set a little above this cap; README, production section).
"""

from __future__ import annotations

from django.conf import settings
from django.core.files.uploadhandler import FileUploadHandler
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _

from miv.error_pages import error_page


class RequestTooLarge(Exception):
    """The body of the request is larger than ``MIV_UPLOAD_MAX_BYTES``."""


def max_bytes() -> int:
    return int(settings.MIV_UPLOAD_MAX_BYTES)


def too_large(request: HttpRequest) -> HttpResponse:
    """The 413 answer: JSON for the API, a page in the site's layout for people."""
    limit_mib = max_bytes() / (1024 * 1024)
    message = _("Het bestand is te groot: MIV neemt hoogstens %(limit).0f MiB aan.") % {
        "limit": limit_mib
    }
    if request.path.startswith("/api/"):
        return JsonResponse({"detail": message}, status=413)
    return error_page(request, _("Te groot"), message, status=413)


class RequestSizeLimitMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > max_bytes():
            return too_large(request)
        return self.get_response(request)


class CappedUploadHandler(FileUploadHandler):
    """Stops a multipart upload once its files exceed the cap (chunked or mis-announced
    bodies); the next handlers never see the bytes beyond it."""

    def __init__(self, request=None):
        super().__init__(request)
        self.received = 0

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        if content_length and content_length > max_bytes():
            raise RequestTooLarge(content_length)
        return None

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > max_bytes():
            raise RequestTooLarge(self.received)
        return raw_data

    def file_complete(self, file_size):
        return None
