// Take the writer lease (in the transaction that inspected it): $owner (a
// random token), $host, $pid, $pid_start (the holder process, to tell a dead
// one on the same host), valid for $ttl milliseconds unless renewed.
MATCH (l:TopographLock {name: $name})
SET l.owner = $owner, l.host = $host, l.pid = $pid, l.pid_start = $pid_start,
    l.since = timestamp(), l.expires = timestamp() + $ttl
