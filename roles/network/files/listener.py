"""Temporary TCP listener for the reachability check: accepts and closes connections until it expires."""
import socket
import sys
import time

port, seconds = int(sys.argv[1]), float(sys.argv[2])
sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
sock.bind(("0.0.0.0", port))
sock.listen(64)
sock.settimeout(1.0)
deadline = time.monotonic() + seconds
while time.monotonic() < deadline:
    try:
        conn = sock.accept()[0]
        conn.close()
    except socket.timeout:
        pass
sock.close()
