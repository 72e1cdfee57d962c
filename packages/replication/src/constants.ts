/** Replication factor: each chunk lives on the R closest live, non-full nodes to its key. */
export const DEFAULT_REPLICAS = 3
/** Write quorum: a put is acknowledged once W replicas stored the chunk durably (survives W−1 losses). */
export const DEFAULT_WRITE_QUORUM = 2
/** A node accepts a pushed chunk only if it is among the ACCEPT_WINDOW_FACTOR × R closest it knows. */
export const ACCEPT_WINDOW_FACTOR = 2
/** Kademlia k: a read widens to the k closest before it reports not-found. */
export const DEFAULT_READ_WIDTH = 20
/** A read asks a second holder when the first has not answered within this many ms. */
export const DEFAULT_HEDGE_AFTER_MS = 250
/** At most this many holders are asked for one chunk at the same time (the first plus hedges). */
export const DEFAULT_READ_PARALLELISM = 2
/**
 * Healing waits this long before re-replicating a chunk that still has ≥ 2 known live copies
 * (one death only): long enough that a restarted process or a short partition (a false death)
 * rejoins first and costs no transfer; short enough that a second loss inside the window is
 * unlikely, and that second loss makes the chunk urgent (repaired at once) anyway.
 */
export const DEFAULT_REPAIR_GRACE_MS = 20_000
/** Per earlier turn among known holders (repairsBefore), so one holder repairs first and the others find it done. */
export const DEFAULT_REPAIR_STAGGER_MS = 2_000
/** A push that failed is retried after this long. */
export const DEFAULT_REPAIR_RETRY_MS = 5_000
