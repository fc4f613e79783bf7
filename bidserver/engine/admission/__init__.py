"""The supplier registry's domain (issue 12): pure, like every format."""
