"""Sample URL arguments for the satisfaction survey pages (see samples_crm.py for the contract). The survey links
are public: the signed token is the credential (tests/service/test_survey.py checks tampering, expiry and another
tenant's ids)."""

SAMPLES = {
    "service:survey_answer": lambda w: {"token": "not-a-signed-token"},
    "service:survey_unsubscribe": lambda w: {"token": "not-a-signed-token"},
}

PUBLIC = {
    "service:survey_answer": "a contact's satisfaction or NPS survey answer page: the signed token names the survey "
    "and is the credential (CSRF-protected, rate-limited per address)",
    "service:survey_unsubscribe": "the one-click unsubscribe link of an NPS invitation: the signed token names the "
    "contact (RFC 8058 posts without a login or CSRF token)",
}
