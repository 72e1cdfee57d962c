/** Bucket size and replication parameter (Kademlia paper: k = 20). */
export const K = 20
/** Parallel requests per lookup (paper: α = 3). */
export const ALPHA = 3
/** Replacement-cache entries per bucket. */
export const REPLACEMENT_CACHE_SIZE = 20
/** Consecutive failures (timed-out requests and failed pings) before a contact is evicted. */
export const EVICT_AFTER_FAILURES = 4
/** A bucket with no lookup into its range for this long is refreshed (paper: one hour). */
export const REFRESH_INTERVAL_MS = 60 * 60 * 1000
/** How often the refresh timer looks for idle buckets. */
export const REFRESH_CHECK_MS = 60 * 1000
/** A lookup that has not terminated after this long gives up (and counts as failed). */
export const LOOKUP_TIMEOUT_MS = 30_000
/** Candidates a lookup remembers; farther ones are forgotten (bounds memory per lookup). */
export const MAX_LOOKUP_CANDIDATES = 8 * K
/** Lookups running at once; more wait in a bounded queue. */
export const MAX_CONCURRENT_LOOKUPS = 16
export const MAX_QUEUED_LOOKUPS = 1024
/** Liveness-check pings in flight at once, and how many suspects may wait for one. */
export const MAX_CONCURRENT_PINGS = 8
export const MAX_QUEUED_PINGS = 256
/** The least-recently-seen contact of a full bucket is only re-checked if silent for this long. */
export const STALE_CONTACT_MS = 5 * 60 * 1000
