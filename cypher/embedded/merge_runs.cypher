// Run nodes for a batch of checkpoints ($runs: list of names); existing ones stay.
UNWIND $runs AS name
MERGE (:Run {name: name})
