"""Services under test with real SDKs: entry points the example scenarios beside them name."""
