// Allocate $n consecutive checkpoint numbers (cid) atomically: the counter's
// SET holds its write lock until commit, so concurrent writers never get the
// same numbers. The counter starts above every stored cid (stores written
// before it existed), and never goes below them.
OPTIONAL MATCH (c:Checkpoint)
WITH coalesce(max(c.cid), -1) + 1 AS floor
MERGE (k:TopographCounter {name: 'cid'})
ON CREATE SET k.next = floor
SET k.next = CASE WHEN k.next < floor THEN floor ELSE k.next END + $n
RETURN k.next - $n AS first
