import type { Database, Statement } from 'better-sqlite3';
import type { Clock } from '../shared/clock';
import { fromJson, toJson } from './json';
import type { SeenItemInput, SeenItemRecord } from './types';

interface SeenItemRow {
  rule_id: string;
  list: string;
  item_key: string;
  item: string | null;
  first_seen: number;
  last_seen: number;
  removed_at: number | null;
}

type ItemKeyParams = [ruleId: string, list: string, key: string];

/**
 * The seen-sets of watch triggers: every item a rule's watched listing has shown, so a
 * watch fires once per new item across restarts. Each call is one transaction. Reached
 * as `RunStore.seen`.
 */
export class SeenItemStore {
  readonly #clock: Clock;
  readonly #find: Statement<ItemKeyParams, { removed_at: number | null }>;
  readonly #insert: Statement<[ruleId: string, list: string, key: string, item: string | null, firstSeen: number, lastSeen: number]>;
  readonly #touch: Statement<[item: string | null, now: number, ...ItemKeyParams]>;
  readonly #markRemoved: Statement<[now: number, ...ItemKeyParams]>;
  readonly #listPresent: Statement<[ruleId: string, list: string], SeenItemRow>;
  readonly #listAll: Statement<[ruleId: string, list: string], SeenItemRow>;
  readonly #addMany: (ruleId: string, list: string, items: readonly SeenItemInput[], now: number) => string[];
  readonly #removeMany: (ruleId: string, list: string, keys: readonly string[], now: number) => number;

  constructor(db: Database, clock: Clock) {
    this.#clock = clock;
    this.#find = db.prepare('SELECT removed_at FROM seen_items WHERE rule_id = ? AND list = ? AND item_key = ?');
    this.#insert = db.prepare('INSERT INTO seen_items (rule_id, list, item_key, item, first_seen, last_seen) VALUES (?, ?, ?, ?, ?, ?)');
    this.#touch = db.prepare(
      'UPDATE seen_items SET item = COALESCE(?, item), last_seen = ?, removed_at = NULL WHERE rule_id = ? AND list = ? AND item_key = ?',
    );
    this.#markRemoved = db.prepare(
      'UPDATE seen_items SET removed_at = ? WHERE rule_id = ? AND list = ? AND item_key = ? AND removed_at IS NULL',
    );
    this.#listPresent = db.prepare('SELECT * FROM seen_items WHERE rule_id = ? AND list = ? AND removed_at IS NULL ORDER BY item_key');
    this.#listAll = db.prepare('SELECT * FROM seen_items WHERE rule_id = ? AND list = ? ORDER BY item_key');

    this.#addMany = db.transaction((ruleId: string, list: string, items: readonly SeenItemInput[], now: number) => {
      const appeared: string[] = [];
      for (const { key, item } of items) {
        const known = this.#find.get(ruleId, list, key);
        const itemJson = toJson(item);
        if (known === undefined) {
          this.#insert.run(ruleId, list, key, itemJson, now, now);
          appeared.push(key);
        } else {
          this.#touch.run(itemJson, now, ruleId, list, key);
          if (known.removed_at !== null) appeared.push(key);
        }
      }
      return appeared;
    });
    this.#removeMany = db.transaction((ruleId: string, list: string, keys: readonly string[], now: number) => {
      let removed = 0;
      for (const key of keys) removed += this.#markRemoved.run(now, ruleId, list, key).changes;
      return removed;
    });
  }

  /**
   * Records the items of one poll. Returns the keys that appeared: never seen before, or
   * seen again after being marked removed (a member who left and came back). Items
   * already present get their `last_seen` and latest content.
   */
  add(ruleId: string, list: string, items: readonly SeenItemInput[]): string[] {
    return this.#addMany(ruleId, list, items, this.#clock.now());
  }

  /** The keys currently in the set (not removed), or every key ever seen with `includeRemoved`. */
  listKeys(ruleId: string, list: string, options: { includeRemoved?: boolean } = {}): string[] {
    return this.#rows(ruleId, list, options).map((row) => row.item_key);
  }

  /** The items of the set with their history, ordered by key. */
  list(ruleId: string, list: string, options: { includeRemoved?: boolean } = {}): SeenItemRecord[] {
    return this.#rows(ruleId, list, options).map(toSeenItemRecord);
  }

  /** Marks items no longer in the listing; returns how many were present until now. */
  markRemoved(ruleId: string, list: string, keys: readonly string[]): number {
    return this.#removeMany(ruleId, list, keys, this.#clock.now());
  }

  #rows(ruleId: string, list: string, options: { includeRemoved?: boolean }): SeenItemRow[] {
    return (options.includeRemoved ? this.#listAll : this.#listPresent).all(ruleId, list);
  }
}

function toSeenItemRecord(row: SeenItemRow): SeenItemRecord {
  return {
    ruleId: row.rule_id,
    list: row.list,
    key: row.item_key,
    item: fromJson(row.item),
    firstSeen: row.first_seen,
    lastSeen: row.last_seen,
    removedAt: row.removed_at,
  };
}
