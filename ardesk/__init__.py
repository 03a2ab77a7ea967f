"""ardesk: open-source credit and collections platform for accounts-receivable teams."""

__version__ = "0.1.0"
