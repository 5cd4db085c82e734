"""The one masker of build and run output: values, their lines, base64 and URL forms."""

from __future__ import annotations

import base64
from urllib.parse import quote, quote_plus

from hypothesis import given
from hypothesis import strategies as st

from dockyard.logs.masking import MASK, masker
from dockyard.logs.service import MAX_LINE_CHARS

TEXT = st.text(st.characters(codec="utf-8", exclude_characters="\n"), max_size=40)
SECRET = st.text(st.characters(codec="utf-8"), min_size=4, max_size=40).filter(
    lambda s: s.strip() == s and len(s) >= 4
)
PEM = """-----BEGIN PRIVATE KEY-----
MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7
  Zm9vYmFyYmF6cXV4cXV1eHF1dXV4
-----END PRIVATE KEY-----
"""


@given(before=TEXT, secret=SECRET, after=TEXT)
def test_a_value_anywhere_in_text_is_masked_in_that_text_and_its_base64(
    before: str, secret: str, after: str
) -> None:
    mask = masker([secret])
    text = before + secret + after
    assert secret not in mask(text)
    offset = len(before.encode()) % 3
    start, end = -(-8 * offset // 6), 8 * (offset + len(secret.encode())) // 6
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        encoded = encode(text.encode()).decode()
        # The characters made of the secret's bits alone (the rest also carry the text's).
        fragment = encode(bytes(offset) + secret.encode()).decode()[start:end]
        assert fragment in encoded
        assert MASK in mask(encoded) and fragment not in mask(encoded)


@given(secret=SECRET)
def test_url_encodings_are_masked(secret: str) -> None:
    mask = masker([secret])
    for encoded in (quote(secret, safe=""), quote_plus(secret)):
        assert mask(f"GET /?token={encoded}&x=1") == f"GET /?token={MASK}&x=1"


def test_each_line_of_a_multi_line_value_is_masked() -> None:
    mask = masker([PEM])
    for line in PEM.splitlines():
        assert mask(f"> {line.strip()}") == f"> {MASK}"
    assert mask(PEM) == MASK
    assert mask("  Zm9vYmFyYmF6cXV4cXV1eHF1dXV4  ") == f"  {MASK}  "


def test_short_lines_of_a_long_value_are_not_masked() -> None:
    assert masker(["ab\nlong-secret-line"])("ab cd") == "ab cd"


def test_a_short_explicit_secret_is_masked_as_a_token_only() -> None:
    mask = masker(["ab1"])
    assert mask("pin ab1.") == f"pin {MASK}."
    assert mask("ab1") == MASK
    assert mask("xab1 ab12 tab1e") == "xab1 ab12 tab1e"


def test_blank_and_one_character_values_mask_nothing() -> None:
    assert masker(["", "  ", "\n", "1", " 0 "])("a b  c 1 0\n") == "a b  c 1 0\n"


def test_a_secret_across_the_stored_line_limit_is_masked_before_the_cut() -> None:
    secret = "straddling-secret-value"
    line = "x" * (MAX_LINE_CHARS - 5) + secret + "tail"
    stored = masker([secret])(line)[:MAX_LINE_CHARS]
    assert secret[:5] not in stored[-10:] and stored.endswith(MASK[:5])


def test_the_longest_form_wins() -> None:
    assert masker(["abcd", "abcdef"])("abcdefg") == f"{MASK}g"
