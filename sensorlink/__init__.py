"""Scan, pair, connect, stream and decode the posture sensor over BLE. The only package that imports bleak."""
