"""Try each proto/host/port once with a 2 s timeout; print JSON {spec: "open" | "dropped" | "refused"}."""

import json
import socket
import sys

result = {}
for spec in sys.argv[1:]:
    proto, host, port = spec.split("/")
    kind = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
    s = socket.socket(socket.AF_INET, kind)
    s.settimeout(2)
    try:
        if proto == "tcp":
            s.connect((host, int(port)))
            result[spec] = "open" if s.recv(16) == b"ok\n" else "unexpected"
        else:
            s.sendto(b"ping", (host, int(port)))
            result[spec] = "open" if s.recv(16) == b"ping" else "unexpected"
    except socket.timeout:
        result[spec] = "dropped"
    except ConnectionRefusedError:
        result[spec] = "refused"
    finally:
        s.close()
print(json.dumps(result))
