"""A TURN client over TLS for the coturn scenario (RFC 8656, long-term credentials), standard library only.

turnutils_uclient picks a random TLS method per connection and hangs on the versions coturn refuses,
so it cannot prove TLS relaying deterministically. This client offers TLS 1.2+ only and does what a
browser does: Allocate (401, then with credentials), CreatePermission for the peer, Send indications,
and waits for the peer's echoes as Data indications.

usage: python3 turn_tls_client.py SERVER PORT PEER_IP PEER_PORT COUNT   (stdin: JSON {"user": .., "password": ..})
prints one JSON line: tls_version, relayed address, sent, received.
"""
import hashlib
import hmac
import json
import os
import socket
import ssl
import struct
import sys

COOKIE = 0x2112A442
ALLOCATE, CREATE_PERMISSION, SEND_INDICATION, DATA_INDICATION = 0x0003, 0x0008, 0x0016, 0x0017
USERNAME, MESSAGE_INTEGRITY, ERROR_CODE, PEER, DATA, REALM, NONCE, RELAYED, TRANSPORT = (
    0x0006, 0x0008, 0x0009, 0x0012, 0x0013, 0x0014, 0x0015, 0x0016, 0x0019)
SUCCESS, ERROR = 0x0100, 0x0110


def attr(kind, value):
    return struct.pack("!HH", kind, len(value)) + value + b"\0" * (-len(value) % 4)


def xor_address(ip, port):
    packed = bytes(a ^ b for a, b in zip(socket.inet_aton(ip), struct.pack("!I", COOKIE)))
    return struct.pack("!BBH", 0, 1, port ^ (COOKIE >> 16)) + packed


def read_xor_address(value):
    port = struct.unpack("!H", value[2:4])[0] ^ (COOKIE >> 16)
    ip = socket.inet_ntoa(bytes(a ^ b for a, b in zip(value[4:8], struct.pack("!I", COOKIE))))
    return "%s:%d" % (ip, port)


def message(kind, attrs, key=None):
    body = b"".join(attr(k, v) for k, v in attrs)
    tid = os.urandom(12)
    if key:
        # MESSAGE-INTEGRITY covers the header with a length that already counts its own 24 bytes.
        head = struct.pack("!HHI", kind, len(body) + 24, COOKIE) + tid
        body += attr(MESSAGE_INTEGRITY, hmac.new(key, head + body, hashlib.sha1).digest())
    return struct.pack("!HHI", kind, len(body), COOKIE) + tid + body


def receive(sock):
    head = read_exactly(sock, 20)
    kind, length = struct.unpack("!HH", head[:4])
    body, attrs, at = read_exactly(sock, length), {}, 0
    while at < length:
        k, n = struct.unpack("!HH", body[at:at + 4])
        attrs.setdefault(k, body[at + 4:at + 4 + n])
        at += 4 + n + (-n % 4)
    return kind, attrs


def read_exactly(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise SystemExit("the server closed the connection")
        data += chunk
    return data


def request(sock, kind, attrs, key=None):
    sock.sendall(message(kind, attrs, key))
    while True:
        got, values = receive(sock)
        if got & ~0x0110 == kind:
            return got, values


def error_text(values):
    value = values.get(ERROR_CODE, b"\0\0\0\0")
    return "%d%02d %s" % (value[2] & 7, value[3], value[4:].decode(errors="replace"))


def main():
    server, port, peer_ip, peer_port, count = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
    creds = json.load(sys.stdin)
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE  # the scenario's certificate is self-signed
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    with socket.create_connection((server, port), timeout=10) as raw, context.wrap_socket(raw) as sock:
        transport = [(TRANSPORT, bytes([17, 0, 0, 0]))]  # a UDP relay, as browsers ask for
        got, values = request(sock, ALLOCATE, transport)
        if got != ALLOCATE | ERROR or REALM not in values:
            raise SystemExit("the first Allocate was not challenged: %s" % error_text(values))
        realm, nonce = values[REALM], values[NONCE]
        # the long-term credential key is MD5 by RFC 8489, not a choice of ours
        key = hashlib.md5(  # noqa: S324
            b"%s:%s:%s" % (creds["user"].encode(), realm, creds["password"].encode())
        ).digest()
        auth = [(USERNAME, creds["user"].encode()), (REALM, realm), (NONCE, nonce)]
        got, values = request(sock, ALLOCATE, transport + auth, key)
        if got != ALLOCATE | SUCCESS:
            raise SystemExit("Allocate refused: %s" % error_text(values))
        relayed = read_xor_address(values[RELAYED])
        peer = [(PEER, xor_address(peer_ip, peer_port))]
        got, values = request(sock, CREATE_PERMISSION, peer + auth, key)
        if got != CREATE_PERMISSION | SUCCESS:
            raise SystemExit("CreatePermission refused: %s" % error_text(values))
        received = 0
        for n in range(count):
            sock.sendall(message(SEND_INDICATION, peer + [(DATA, b"rtcstack-%d" % n)]))
            while True:
                got, values = receive(sock)
                if got == DATA_INDICATION:
                    received += values.get(DATA) == b"rtcstack-%d" % n
                    break
        print(json.dumps({"tls_version": sock.version(), "relayed": relayed, "sent": count, "received": received}))


if __name__ == "__main__":
    try:
        main()
    except (TimeoutError, OSError) as error:
        raise SystemExit("%s: %s" % (type(error).__name__, error)) from None
