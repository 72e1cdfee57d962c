/** Keys are UTF-8 strings of at most this many bytes (issue 21). */
export const MAX_KEY_BYTES = 1024

/** Values are at most this many bytes (1 MiB). */
export const MAX_VALUE_BYTES = 1 << 20

/**
 * How many of a key's latest effects its state remembers (version and the operation that made it).
 * A proposer whose accept may have landed looks itself up there before it retries, so a retried
 * operation takes effect once. More: retries stay exact under heavier contention, at the cost of
 * a version and a tag (the proposer id and an op number) per entry in every stored state; an
 * operation whose effect scrolled out is answered unavailable (outcome unknown).
 */
export const EFFECT_LOG_LENGTH = 16

/** A proposer id (the ballot tie-breaker and effect tag prefix) is at most this many bytes. */
export const MAX_PROPOSER_ID_BYTES = 256

/** A request gets no answer later than this after it was submitted: it is then `unavailable`. */
export const DEFAULT_DEADLINE_MS = 2_000

/**
 * A phase (prepare or accept) waits this long for a quorum before it starts over with a higher
 * ballot. Longer: fewer needless retries on a slow disk; shorter: a lost message costs less.
 */
export const DEFAULT_ATTEMPT_TIMEOUT_MS = 250

/**
 * A failed attempt waits a random time before it starts over, so dueling proposers drift apart
 * (CASPaxos has no leader to stop the duel): uniform in [0, min(max, unit · max(1, 4 / attempt))),
 * the unit twice the proposer's average phase time (one whole round of someone else's), at least
 * the base. The window shrinks as a request keeps losing — aging, so the oldest request wins the
 * next duel — where exponential growth would starve it behind fresh requests that do not wait
 * (on the simulator, 5 proposers on 1–5 hot keys without faults, 18,000 requests: 36 past the
 * 2 s deadline against 260 with exponential growth; the price is a longer middle, p95 281 ms
 * against 93, as losers retry sooner and duel more).
 */
export const DEFAULT_BACKOFF_BASE_MS = 1
export const DEFAULT_BACKOFF_MAX_MS = 400

/** Rounds a request may start before it is answered `unavailable` (with its deadline, a bound). */
export const DEFAULT_MAX_ATTEMPTS = 32

/** A group has at most this many members (R is 3 by default, 5 allowed). */
export const MAX_GROUP_MEMBERS = 7

/** A member id (a peer id) on the wire is at most this many characters. */
export const MAX_MEMBER_ID_CHARS = 128

/**
 * A range's snapshot (a move's value) lists at most this many keys. The frame bound of the KV
 * protocol limits the bytes; this bounds the work of parsing one.
 */
export const MAX_SNAPSHOT_ENTRIES = 1 << 20

/** Tombstones one sweep lists (and purges) per range at most; the rest wait for the next sweep. */
export const MAX_TOMBSTONES_LISTED = 1024
