"""One module per chapter: its typed config dataclass and its experiment runners.

The notebooks stay short: they build the config from their parameters and call these.
"""
