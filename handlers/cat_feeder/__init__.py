"""Cat feeder: clicks -> EventBridge ledger -> feeder -> MQTT -> the feeder's ESP32-C3."""
