"""The sensor's BLE profile and packet format: the single source of truth for decoder and simulated sensor."""
