"""Test listener: answers "ok" on each TCP port and echoes UDP datagrams, for at most 10 minutes."""

import socket
import sys
import threading
import time


def tcp(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port))  # noqa: S104 - a test listener of the firewall scenario, on every address on purpose
    s.listen(16)
    while True:
        conn, dummy = s.accept()
        conn.sendall(b"ok\n")
        conn.close()


def udp(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", port))  # noqa: S104 - a test listener of the firewall scenario, on every address on purpose
    while True:
        data, peer = s.recvfrom(512)
        s.sendto(data, peer)


for spec in sys.argv[1:]:
    proto, port = spec.split("/")
    threading.Thread(target=tcp if proto == "tcp" else udp, args=(int(port),), daemon=True).start()
time.sleep(600)
