"""Exchange events: POST /event -> IoT topic event/<type> -> rules: archive, fraud check, alerts."""
