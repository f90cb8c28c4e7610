"""The built-in demo model: a signal source newcomers can switch on to watch signals become orders."""
