"""The service's metrics in the Prometheus text exposition format (version 0.0.4): request counts by
route, method and status, a request latency histogram per route, and the run being served.

Small and dependency-free: one lock around a few dictionaries, rendered on each scrape of ``/metrics``.
"""

from __future__ import annotations

import bisect
import threading
from dataclasses import dataclass, field

#: Upper bounds (seconds) of the latency histogram's buckets (``+Inf`` is added).
BUCKETS = (0.001, 0.0025, 0.005, 0.0075, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _label(value: str) -> str:
    """A label value escaped as the text format requires (backslash, double quote, newline)."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


@dataclass
class _Histogram:
    counts: list[int] = field(default_factory=lambda: [0] * len(BUCKETS))
    total: float = 0.0
    n: int = 0


class Metrics:
    """Thread-safe counters and histograms of the service's requests."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._requests: dict[tuple[str, str, int], int] = {}
        self._latency: dict[str, _Histogram] = {}

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        """Count one finished request of ``route`` (its template, e.g. ``/recommend``) that took ``seconds``."""
        with self._lock:
            key = (route, method, status)
            self._requests[key] = self._requests.get(key, 0) + 1
            h = self._latency.get(route)
            if h is None:
                h = self._latency[route] = _Histogram()
            bucket = bisect.bisect_left(BUCKETS, seconds)
            if bucket < len(BUCKETS):
                h.counts[bucket] += 1
            h.total += seconds
            h.n += 1

    def render(self, *, run: str | None, target: str | None, loaded_at: float | None, reloads: int) -> str:
        """The text exposition of every metric, the served run's included."""
        with self._lock:
            requests = sorted(self._requests.items())
            latency = {r: _Histogram(list(h.counts), h.total, h.n) for r, h in sorted(self._latency.items())}
        lines = [
            "# HELP graphrec_http_requests_total HTTP requests answered, by route, method and status.",
            "# TYPE graphrec_http_requests_total counter",
        ]
        for (route, method, status), n in requests:
            lines.append(
                f'graphrec_http_requests_total{{route="{_label(route)}",method="{method}",status="{status}"}} {n}'
            )
        lines += [
            "# HELP graphrec_http_request_duration_seconds Time from request to the end of the response, by route.",
            "# TYPE graphrec_http_request_duration_seconds histogram",
        ]
        for route, h in latency.items():
            r = _label(route)
            cumulative = 0
            for bound, count in zip(BUCKETS, h.counts):
                cumulative += count
                lines.append(f'graphrec_http_request_duration_seconds_bucket{{route="{r}",le="{bound}"}} {cumulative}')
            lines.append(f'graphrec_http_request_duration_seconds_bucket{{route="{r}",le="+Inf"}} {h.n}')
            lines.append(f'graphrec_http_request_duration_seconds_sum{{route="{r}"}} {h.total:.6f}')
            lines.append(f'graphrec_http_request_duration_seconds_count{{route="{r}"}} {h.n}')
        lines += [
            "# HELP graphrec_model_info The training run being served (value 1; none while no run is loaded).",
            "# TYPE graphrec_model_info gauge",
        ]
        if run is not None:
            lines.append(f'graphrec_model_info{{run="{_label(run)}",target="{_label(target or "")}"}} 1')
        lines += [
            "# HELP graphrec_model_loaded_timestamp_seconds When the served run was loaded (Unix time).",
            "# TYPE graphrec_model_loaded_timestamp_seconds gauge",
        ]
        if loaded_at is not None:
            lines.append(f"graphrec_model_loaded_timestamp_seconds {loaded_at:.3f}")
        lines += [
            "# HELP graphrec_model_reloads_total Runs swapped in by /reload since the service started.",
            "# TYPE graphrec_model_reloads_total counter",
            f"graphrec_model_reloads_total {reloads}",
        ]
        return "\n".join(lines) + "\n"
