"""Built-in backends. They register through entry points, like any plugin."""
