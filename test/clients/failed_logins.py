#!/usr/bin/python3
"""Failed password logins from many client addresses, as a scanner makes them.

Each login binds its socket to its own loopback address (127.0.x.y: the whole
127.0.0.0/8 is local on Linux), sends a startup packet, answers the server's
cleartext password request with a wrong password and reads the error.  libpq
cannot choose its source address, so this speaks the protocol itself.
Prints how many logins the server refused with invalid_password (28P01): the
client's own truth, for the test to compare with the extension's counts.

    failed_logins.py PORT USER COUNT [APPLICATION_NAME_PREFIX]
"""
import socket
import struct
import sys


def message(sock):
    head = b''
    while len(head) < 5:
        chunk = sock.recv(5 - len(head))
        if not chunk:
            return None, b''
        head += chunk
    kind, length = head[:1], struct.unpack('!I', head[1:])[0]
    body = b''
    while len(body) < length - 4:
        chunk = sock.recv(length - 4 - len(body))
        if not chunk:
            break
        body += chunk
    return kind, body


def sqlstate(body):
    for field in body.split(b'\0'):
        if field[:1] == b'C':
            return field[1:].decode()
    return ''


def failed_login(port, user, source, appname):
    sock = socket.create_connection(('127.0.0.1', port), timeout=10,
                                    source_address=(source, 0))
    try:
        params = b''.join(k + b'\0' + v.encode() + b'\0' for k, v in (
            (b'user', user), (b'database', 'postgres'),
            (b'application_name', appname)))
        body = struct.pack('!I', 196608) + params + b'\0'
        sock.sendall(struct.pack('!I', len(body) + 4) + body)
        kind, body = message(sock)
        if kind != b'R' or struct.unpack('!I', body[:4])[0] != 3:
            return False                # not a cleartext password request
        password = b'wrong\0'
        sock.sendall(b'p' + struct.pack('!I', len(password) + 4) + password)
        kind, body = message(sock)
        return kind == b'E' and sqlstate(body) == '28P01'
    finally:
        sock.close()


def main():
    port, user, count = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    prefix = sys.argv[4] if len(sys.argv) > 4 else 'scan'
    refused = 0
    for i in range(count):
        source = '127.0.%d.%d' % (1 + i // 250, 1 + i % 250)
        refused += failed_login(port, user, source, '%s%d' % (prefix, i))
    print(refused)


if __name__ == '__main__':
    main()
