"""Command groups of the `posture` CLI, one module per area; each exposes `register(app)`."""
