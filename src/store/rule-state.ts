import type { Database, Statement } from 'better-sqlite3';
import type { Clock } from '../shared/clock';
import { fromJson } from './json';
import type { JsonValue } from './types';

/**
 * Small persistent values a rule keeps between runs: its rotation position, the last
 * slot it served, a window's last state. Keyed by rule id, so they survive reloads and
 * restarts and follow the rule as long as its id stays. Reached as `RunStore.ruleState`.
 */
export class RuleStateStore {
  readonly #clock: Clock;
  readonly #get: Statement<[ruleId: string, key: string], { value: string }>;
  readonly #set: Statement<[ruleId: string, key: string, value: string, now: number]>;
  readonly #delete: Statement<[ruleId: string, key: string]>;
  readonly #list: Statement<[ruleId: string], { key: string; value: string }>;

  constructor(db: Database, clock: Clock) {
    this.#clock = clock;
    this.#get = db.prepare('SELECT value FROM rule_state WHERE rule_id = ? AND key = ?');
    this.#set = db.prepare(
      `INSERT INTO rule_state (rule_id, key, value, updated_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (rule_id, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
    );
    this.#delete = db.prepare('DELETE FROM rule_state WHERE rule_id = ? AND key = ?');
    this.#list = db.prepare('SELECT key, value FROM rule_state WHERE rule_id = ? ORDER BY key');
  }

  /** The value stored under `key`, or undefined. `T` names the shape that was set. */
  get<T extends JsonValue = JsonValue>(ruleId: string, key: string): T | undefined {
    const row = this.#get.get(ruleId, key);
    return row === undefined ? undefined : (fromJson<T>(row.value) as T);
  }

  /** Stores `value` (anything JSON can hold; null included) under `key`, replacing what was there. */
  set(ruleId: string, key: string, value: unknown): void {
    // A stored null is the text "null", so `get` tells it apart from a missing key.
    this.#set.run(ruleId, key, JSON.stringify(value ?? null), this.#clock.now());
  }

  /** Removes `key`; returns whether it was there. */
  delete(ruleId: string, key: string): boolean {
    return this.#delete.run(ruleId, key).changes > 0;
  }

  /** Every value a rule keeps, by key. */
  list(ruleId: string): Record<string, JsonValue> {
    const values: Record<string, JsonValue> = {};
    for (const row of this.#list.all(ruleId)) values[row.key] = fromJson(row.value);
    return values;
  }
}
