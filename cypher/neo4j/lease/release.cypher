// Give the writer lease back ($owner's only).
MATCH (l:TopographLock {name: $name})
WHERE l.owner = $owner
DELETE l
