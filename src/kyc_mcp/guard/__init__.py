"""The guard: auth, flow order, consent and redaction, applied centrally around every tool call."""
