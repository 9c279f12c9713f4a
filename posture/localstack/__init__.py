"""Local servers for `posture demo` and the tests: a real Mosquitto (`mosquitto`) and InfluxDB (`influxdb`).

Each module starts its server as a child process on a free loopback port in a folder of its own, and stops it.
Import the module you need (`posture.localstack.mosquitto`); this package imports none of them.
"""
