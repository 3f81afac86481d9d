-- Per-channel upstream connection settings (issue 23, "No hidden cap on concurrent streams").
-- max_connections: how many requests this instance may have in flight on the channel at once
-- (one upstream connection each over HTTP/1.1); NULL follows UPSTREAM_MAX_CONNECTIONS, 0 is no
-- limit. A request past it is refused at once (503 with retry-after, or another channel), never
-- queued out of sight. http2: offer HTTP/2 to the upstream (ALPN, https only); off by default.

ALTER TABLE channels
  ADD COLUMN max_connections integer CHECK (max_connections IS NULL OR max_connections BETWEEN 0 AND 1000000),
  ADD COLUMN http2 boolean NOT NULL DEFAULT false;
