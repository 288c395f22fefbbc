# Board entry point (Seeed XIAO ESP32-C3): real pins, Wi-Fi, watchdog; runs until power-off.
import time

import app
import broker
import config
import credentials
import hardware
import machine
import network

settings = config.load()
open_tls = broker.opener(settings["host"], settings["port"], settings["server_name"], config.read("ca.der"))
motors = hardware.motors(lambda n: machine.Pin(n, machine.Pin.OUT), settings["pins"])
device = app.Device(settings, open_tls, motors, time, wlan=network.WLAN(network.STA_IF),
                    watchdog=machine.WDT(timeout=30000), credentials=credentials.Credentials())
device.run()
