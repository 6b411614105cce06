"""flowaudit: audit Microsoft Entra self-service sign-up via user flows."""

__version__ = "0.2.0"
