/**
 * Which members a rule has muted, and until when: the memory that makes a flood give one
 * mute, not one per message. A `rate` condition holds from the count-th message on, so
 * messages 5, 6, 7... of a flood all fire the rule; each run finds the member already
 * muted here and leaves it at that.
 *
 * Kept in the rule's state (`store.ruleState`, key {@link MUTE_MEMORY_KEY}), so it
 * survives restarts; per rule, so two rules that mute for different reasons (an advert
 * posted, a nickname) each act once. An entry lasts as long as the mute it records and is
 * dropped after; the map is also bounded, the entries closest to their end going first.
 *
 * The check and the claim are synchronous over SQLite (no await between reading and
 * writing), so runs of the same rule in parallel cannot both claim one member.
 */
import type { RunStore } from '../store/run-store';

/** Rule-state key of a rule's recent member mutes. */
export const MUTE_MEMORY_KEY = 'muteMember:recent';

/** Entries one rule keeps at most; a flood of distinct accounts beyond it forgets the mutes closest to their end. */
export const MUTE_MEMORY_MAX = 5000;

/** One remembered mute. */
export interface RememberedMute {
  /** When the mute was sent (ms since the epoch). */
  at: number;
  /** When it runs out. */
  until: number;
  /** The run that sent it. */
  runId: number;
}

type MuteMap = Record<string, RememberedMute>;

function memberKey(group: string, uid: string): string {
  return `${group}:${uid}`;
}

function read(store: RunStore, ruleId: string): MuteMap {
  const value = store.ruleState.get(ruleId, MUTE_MEMORY_KEY);
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as unknown as MuteMap) : {};
}

/** Drops entries that have run out, then the soonest to run out beyond the bound. */
function pruned(map: MuteMap, now: number): MuteMap {
  const live = Object.entries(map).filter(([, mute]) => typeof mute?.until === 'number' && mute.until > now);
  if (live.length > MUTE_MEMORY_MAX) live.sort(([, a], [, b]) => b.until - a.until).splice(MUTE_MEMORY_MAX);
  return Object.fromEntries(live);
}

/** The mute of `uid` in `group` this rule sent and that has not run out yet, if any. */
export function rememberedMute(store: RunStore, ruleId: string, group: string, uid: string, now: number): RememberedMute | undefined {
  const mute = read(store, ruleId)[memberKey(group, uid)];
  return mute && mute.until > now ? mute : undefined;
}

/**
 * Records a mute about to be sent, unless one is already remembered: returns that one
 * instead (and writes nothing). Written before the frame, like every step.
 */
export function claimMute(store: RunStore, ruleId: string, group: string, uid: string, mute: RememberedMute): RememberedMute | undefined {
  const map = pruned(read(store, ruleId), mute.at);
  const key = memberKey(group, uid);
  const existing = map[key];
  if (existing) return existing;
  map[key] = mute;
  store.ruleState.set(ruleId, MUTE_MEMORY_KEY, map);
  return undefined;
}

/** Forgets a claimed mute whose frame never reached the bridge, so the next offence mutes. */
export function releaseMute(store: RunStore, ruleId: string, group: string, uid: string, runId: number): void {
  const map = read(store, ruleId);
  const key = memberKey(group, uid);
  if (map[key]?.runId !== runId) return;
  delete map[key];
  store.ruleState.set(ruleId, MUTE_MEMORY_KEY, map);
}
