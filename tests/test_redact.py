"""Redaction: keys leave in no form, whatever shape a gateway echoes them in."""

from __future__ import annotations

import base64

from oimi_conformance.redact import REDACTED, Redactor

KEY = "sk-test-redaction-0123456789"


def test_headers_are_redacted_and_cookies_dropped():
    r = Redactor([KEY])
    out = r.headers({"Authorization": f"Bearer {KEY}", "x-api-key": KEY, "x-goog-api-key": KEY,
                     "Set-Cookie": "session=abc", "Cookie": "a=b", "X-Echo": f"key {KEY}"})
    assert out == {"authorization": f"Bearer {REDACTED}", "x-api-key": REDACTED, "x-goog-api-key": REDACTED,
                   "x-echo": f"key {REDACTED}"}


def test_query_key_is_redacted():
    assert Redactor([KEY]).url(f"http://h/v1beta/models/m:generateContent?alt=sse&key={KEY}") == \
        f"http://h/v1beta/models/m:generateContent?alt=sse&key={REDACTED}"


def test_every_echoed_form_is_redacted_and_detected():
    r = Redactor([KEY])
    b64 = base64.b64encode(KEY.encode()).decode()
    body = f'{{"a": "{KEY}", "b": "{b64}"}}'.encode()
    assert KEY.encode() not in r.data(body) and b64.encode() not in r.data(body)
    assert r.leaks(b64) == ["key #1"] and r.leaks("nothing here") == []


def test_a_key_never_appears_in_an_error_message():
    assert KEY not in Redactor([KEY]).text(f"Invalid token {KEY} (request id: 1)")
