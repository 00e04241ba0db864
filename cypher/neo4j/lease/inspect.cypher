// The store-wide writer lease (one node per database), created when missing.
// The SET takes the node's write lock until this transaction ends, so two
// writers deciding at once are serialized; the caller then decides from the
// holder's fields whether the lease is free, expired, stale or its own.
// $name: the lease's name.
MERGE (l:TopographLock {name: $name})
SET l.inspected = timestamp()
RETURN l.owner AS owner, l.host AS host, l.pid AS pid, l.pid_start AS pid_start,
       l.since AS since, l.expires AS expires, timestamp() AS now
