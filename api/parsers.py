"""The JSON parser of the REST API and SCIM: DRF's, and a body nested deeper than Python's
recursion limit ("[[[[..." a few kilobytes long) is a parse error (400) like any malformed
JSON, rather than a RecursionError (a 500)."""

from __future__ import annotations

from typing import Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError

TOO_DEEP = "JSON parse error - the body is nested too deeply."


class JSONParser(parsers.JSONParser):
    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> Any:
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(TOO_DEEP) from None
