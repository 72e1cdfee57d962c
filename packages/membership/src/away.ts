import type { MemberMeta } from './types.js'

/**
 * The `meta.settings` key under which a member announces a temporary absence, in ms (see
 * `Membership.pause`). Carried in settings rather than a new meta field so that peers of an
 * older version, whose validation refuses unknown fields, still accept the record.
 */
export const AWAY_SETTING = 'awayMs'

/** The longest absence a member may announce: past it, it is declared dead like any other. */
export const MAX_AWAY_MS = 3_600_000

/** The absence a member announced, clamped to [0, MAX_AWAY_MS]; 0 when none (or not a number). */
export function awayMsOf(meta: MemberMeta): number {
  const v = Number(meta.settings[AWAY_SETTING])
  return Number.isFinite(v) && v > 0 ? Math.min(v, MAX_AWAY_MS) : 0
}
