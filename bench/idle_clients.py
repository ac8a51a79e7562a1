"""Holds N keep-alive connections open after one request each and reports the
server's RSS growth (bench/idle.sh runs this)."""
import socket
import sys
import time


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def main():
    port, n, pid = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    request = b"GET /plaintext HTTP/1.1\r\nHost: x\r\n\r\n"
    # Warm up: one request so the worker's pools exist before the baseline.
    warm = socket.create_connection(("127.0.0.1", port))
    warm.sendall(request)
    warm.recv(4096)
    warm.close()
    time.sleep(0.5)
    before = rss_kib(pid)
    socks = []
    for i in range(n):
        s = socket.create_connection(("127.0.0.1", port))
        s.sendall(request)
        socks.append(s)
    for s in socks:
        data = b""
        while b"Hello, World!" not in data:
            chunk = s.recv(4096)
            if not chunk:
                raise RuntimeError("connection closed")
            data += chunk
    time.sleep(1.0)
    after = rss_kib(pid)
    growth = after - before
    print(f"idle keep-alive connections: {n}")
    print(f"server RSS before: {before} KiB, after: {after} KiB, growth: {growth} KiB "
          f"({growth / 1024:.2f} MiB, {growth * 1024 / n:.0f} bytes per connection)")
    for s in socks:
        s.close()
    return 0 if growth < 10 * 1024 else 1


if __name__ == "__main__":
    sys.exit(main())
