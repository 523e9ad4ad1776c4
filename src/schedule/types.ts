/**
 * The contract every compiled schedule meets. All instants are integer milliseconds
 * since the epoch; nothing here reads the clock, so every answer depends only on its
 * arguments and can be tested with explicit instants.
 */

/** A count of fires that may have been estimated to bound the work (see {@link Schedule.countBetween}). */
export interface SlotCount {
  count: number;
  /** False when `count` was extrapolated from the first fires instead of counted one by one. */
  exact: boolean;
}

export interface Schedule {
  readonly kind: 'cron' | 'every' | 'window';
  /** One line for logs and listings, e.g. `cron "0 9 * * 1-5" in Asia/Shanghai`. */
  readonly description: string;
  /** The first fire strictly after `instant`, or null when the schedule never fires again. */
  nextAfter(instant: number): number | null;
  /** The last fire at or before `instant`, or null when there is none. */
  previousAtOrBefore(instant: number): number | null;
  /** The fires in (from, to], oldest first, at most `cap` of them. */
  slotsBetween(from: number, to: number, cap: number): number[];
  /**
   * How many fires fall in (from, to]. Counted one by one up to `limit`; past that the
   * count is exact where it is cheap (fixed intervals) and estimated otherwise.
   */
  countBetween(from: number, to: number, limit: number): SlotCount;
}
