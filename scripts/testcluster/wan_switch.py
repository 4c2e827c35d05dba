#!/usr/bin/python3
"""A slow, distant link in user space, for kernels without sch_netem: an
Ethernet switch over TAP devices that holds every frame between two hosts
for the one-way DELAY and paces what it hands each host at RATE (the host's
downlink; its uplink is shaped by tc tbf on its own end, as in cluster.sh).
The head node's port (mpirun's) is neither delayed nor paced.

  wan_switch.py --rate BITS_PER_S --delay SECONDS --head NS  NS=TAP ...

Each NS=TAP creates TAP device TAP, moves it into namespace NS and renames it
eth0 there (cluster.sh gives it an address). Runs until killed; prints
"ready" on stdout once every port exists. Frames are forwarded by learned
source address, flooded while unknown. Debian's python3, no other modules.
"""
import argparse
import collections
import fcntl
import os
import select
import struct
import subprocess
import sys
import time

TUNSETIFF = 0x400454CA
IFF_TAP, IFF_NO_PI = 0x0002, 0x1000
QUEUE_LIMIT_S = 2.0  # a downlink queue longer than this drops the frame, as a full router buffer would


class Port:
    def __init__(self, namespace, tap, paced):
        self.namespace, self.paced = namespace, paced
        self.fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
        fcntl.ioctl(self.fd, TUNSETIFF, struct.pack("16sH", tap.encode(), IFF_TAP | IFF_NO_PI))
        subprocess.run(["ip", "link", "set", tap, "netns", namespace], check=True)
        subprocess.run(["ip", "-n", namespace, "link", "set", tap, "name", "eth0"], check=True)
        self.queue = collections.deque()  # (departure time, frame), departures non-decreasing
        self.free_at = 0.0  # when the downlink has sent what it holds


def deliver(port, frame):
    try:
        os.write(port.fd, frame)
    except OSError:
        pass  # the host's link is down (not up yet, or cut): the frame is lost, as on a wire


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--rate", type=float, required=True, help="bits/s of each host's downlink")
    p.add_argument("--delay", type=float, required=True, help="one-way seconds between two hosts")
    p.add_argument("--head", required=True, help="the namespace whose port is not delayed")
    p.add_argument("ports", nargs="+", help="NS=TAP")
    a = p.parse_args()
    ports = []
    for spec in a.ports:
        namespace, tap = spec.split("=", 1)
        ports.append(Port(namespace, tap, namespace != a.head))
    by_fd = {port.fd: port for port in ports}
    where = {}  # source MAC -> port
    print("ready", flush=True)
    poller = select.poll()
    for port in ports:
        poller.register(port.fd, select.POLLIN)
    while True:
        now = time.monotonic()
        heads = [port.queue[0][0] for port in ports if port.queue]
        timeout = max(0.0, min(heads) - now) * 1000 if heads else 1000
        for fd, _ in poller.poll(timeout):
            source = by_fd[fd]
            while True:
                try:
                    frame = os.read(fd, 65536)
                except BlockingIOError:
                    break
                if len(frame) < 14:
                    continue
                where[frame[6:12]] = source
                target = where.get(frame[0:6])
                targets = [target] if target is not None else [q for q in ports if q is not source]
                now = time.monotonic()
                for port in targets:
                    if port is source:
                        continue
                    if not (port.paced and source.paced):
                        deliver(port, frame)
                        continue
                    start = max(now + a.delay, port.free_at)
                    if start - now - a.delay > QUEUE_LIMIT_S:
                        continue  # dropped: TCP sees a loss and backs off
                    port.free_at = start + len(frame) * 8 / a.rate
                    port.queue.append((port.free_at, frame))
        now = time.monotonic()
        for port in ports:
            while port.queue and port.queue[0][0] <= now:
                deliver(port, port.queue.popleft()[1])


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(0)
