// Extend the writer lease by $ttl milliseconds if $owner still holds it;
// returns how many leases were renewed (0: lost, or removed by a wipe).
MATCH (l:TopographLock {name: $name})
WHERE l.owner = $owner
SET l.expires = timestamp() + $ttl
RETURN count(l) AS renewed
