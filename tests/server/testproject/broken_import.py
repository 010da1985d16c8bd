"""An application module that raises while being imported."""

raise RuntimeError("this module refuses to load")
