"""Signing in once: the platform login, the stored credentials (the OS keychain, or a private file), the
cross-process refresh lock, and the sign-in page that a conversation opens through URL-mode elicitation."""
