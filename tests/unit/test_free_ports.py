"""The embedded server's ports: distinct, and free when handed out (a server once got equal Bolt and
HTTP ports from three separate free_port() calls and could not start)."""

from __future__ import annotations

import socket

from graphrec.store.arcade_process import free_port, free_ports


def test_free_ports_are_distinct_and_bindable() -> None:
    for _ in range(20):
        ports = free_ports(3)
        assert len(set(ports)) == 3
        for port in ports:
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                s.bind(("127.0.0.1", port))  # raises if the port were taken
    assert 0 < free_port() < 65536
