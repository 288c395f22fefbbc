# The feeder's firmware, in the style of micropython-lib's manifest.py: what goes on the board,
# its default wiring, and the settings device.json must hold. `conduit flash` reads this file.
metadata(description="Conduit cat feeder: MQTT over mutual TLS, two bowls", version="0.2.0")

# Board entry and the modules it imports.
module("main.py")
module("app.py")
module("broker.py")
module("config.py")
module("credentials.py")
module("feeder.py")
module("hardware.py")
module("mqtt.py")
# Runs the same code on the host `micropython`: bundles for folders, never copied to a board.
module("host.py", host_only=True)

# Seeed XIAO ESP32-C3: D0-D3 are GPIO2-GPIO5, wired to the H-bridge's IN1/IN2 of each channel.
pins(left=[2, 3], right=[4, 5])

# The settings device.json holds (the firmware refuses to start without the required ones).
setting("client_id")
setting("host")
setting("port")
setting("server_name")
setting("action_topic")
setting("state_topic")
setting("certificate_topic", required=False)
setting("feed_ms")
setting("pins")
setting("keepalive", required=False)
setting("max_command", required=False)
setting("served_file", required=False)
setting("wifi_ssid", required=False)
setting("wifi_password", required=False)
