"""Counter Coach: a Telegram assistant for frontline bank staff."""

__version__ = "0.1.0"
