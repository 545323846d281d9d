"""Forms, one module per page or flow."""
