/**
 * The daemon's rules: loaded from the rules folder at start, reloaded rule by rule on
 * SIGHUP and when a rule file changes. A valid rule swaps in; an unchanged one is handed
 * on as it is (the engine keeps its state); a rule whose edit made it invalid keeps its
 * previous version, so one bad save never stops a rule that worked (and so do the rules
 * of a file or folder that cannot be read for a moment). Every problem is
 * kept for the health endpoint at `file:line:col`, as `rulebot validate` reports it.
 */
import fs from 'node:fs';
import path from 'node:path';
import { loadRules, type InvalidRule as InvalidRuleDocument, type LoadedRule } from '../rules/load';
import type { Clock, TimerHandle } from '../shared/clock';
import type { Logger } from '../shared/log';
import { formatProblem, type SourceProblem } from '../shared/yaml-source';

/** What one load or reload decided, by rule id. */
export interface RuleSetChanges {
  added: string[];
  changed: string[];
  removed: string[];
  unchanged: string[];
  /** Rules whose edit is invalid: their previous version keeps running. */
  keptPrevious: string[];
}

/** The rules in force and what is wrong with the files. */
export interface RuleSetSnapshot {
  rules: readonly LoadedRule[];
  /** Every problem of every rule file, in file, line, column order. */
  problems: readonly SourceProblem[];
  /** Documents that are not valid rules (left out, or running in their previous version). */
  invalidDocuments: number;
}

/** The debounce of the rules folder watch: an editor's save is often several writes. */
export const RELOAD_DEBOUNCE_MS = 300;

const RULE_FILE = /\.ya?ml$/i;

/**
 * Loads the rules of one folder and keeps the set in force. `load()` once at start;
 * `reload()` for every later read; `watch()` to reload when files change.
 */
export class RuleSource {
  readonly #dir: string;
  readonly #log: Logger;
  #rules: LoadedRule[] = [];
  #problems: SourceProblem[] = [];
  #invalidDocuments = 0;

  constructor(options: { rulesDir: string; logger: Logger }) {
    this.#dir = options.rulesDir;
    this.#log = options.logger;
  }

  /** The folder the rules are read from. */
  get dir(): string {
    return this.#dir;
  }

  get snapshot(): RuleSetSnapshot {
    return { rules: this.#rules, problems: this.#problems, invalidDocuments: this.#invalidDocuments };
  }

  /** Reads the folder for the first time: invalid rules are left out. */
  load(): RuleSetChanges {
    return this.#apply(false);
  }

  /** Reads the folder again, rule by rule against the set in force. */
  reload(): RuleSetChanges {
    return this.#apply(true);
  }

  /**
   * Calls `onChange` (debounced) whenever a rule file in the folder changes, until the
   * returned function is called. A folder that cannot be watched is logged, and SIGHUP
   * remains the way to reload.
   */
  watch(clock: Clock, onChange: () => void): () => void {
    let timer: TimerHandle | undefined;
    const fire = (): void => {
      timer = undefined;
      onChange();
    };
    const schedule = (file: string | null): void => {
      // Editors write swap and backup files beside the rule; only rule files matter.
      if (file !== null && !RULE_FILE.test(file)) return;
      if (timer !== undefined) clock.clearTimeout(timer);
      timer = clock.setTimeout(fire, RELOAD_DEBOUNCE_MS);
    };
    let watcher: fs.FSWatcher;
    try {
      watcher = watchFolder(this.#dir, (file) => schedule(file));
    } catch (err) {
      this.#log.warn({ err, dir: this.#dir }, 'cannot watch the rules folder; reload with SIGHUP');
      return () => undefined;
    }
    watcher.on('error', (err) => this.#log.warn({ err, dir: this.#dir }, 'the rules folder watch failed; reload with SIGHUP'));
    return () => {
      if (timer !== undefined) clock.clearTimeout(timer);
      timer = undefined;
      watcher.close();
    };
  }

  #apply(keepPrevious: boolean): RuleSetChanges {
    const result = loadRules([this.#dir]);
    const previous = new Map(this.#rules.map((loaded) => [loaded.rule.id, loaded]));
    const next = new Map(result.rules.map((loaded) => [loaded.rule.id, loaded]));
    const keptPrevious: string[] = [];
    if (keepPrevious) {
      const keep = (kept: LoadedRule | undefined): void => {
        if (!kept || next.has(kept.rule.id)) return;
        next.set(kept.rule.id, kept);
        keptPrevious.push(kept.rule.id);
      };
      for (const invalid of result.invalidRules) keep(previousVersionOf(invalid, previous, next));
      // A file or folder that cannot be read (mid-deploy, permissions) says nothing about its rules: they stay.
      const unreadable = result.problems.filter((problem) => problem.code === 'RULES_UNREADABLE').map((problem) => problem.file);
      for (const loaded of previous.values()) {
        if (unreadable.some((place) => loaded.file === place || loaded.file.startsWith(`${place}${path.sep}`))) keep(loaded);
      }
    }

    const changes: RuleSetChanges = { added: [], changed: [], removed: [], unchanged: [], keptPrevious };
    for (const [id, loaded] of next) {
      const before = previous.get(id);
      if (!before) changes.added.push(id);
      else if (before.hash === loaded.hash) changes.unchanged.push(id);
      else changes.changed.push(id);
    }
    for (const id of previous.keys()) if (!next.has(id)) changes.removed.push(id);

    this.#rules = [...next.values()];
    this.#problems = result.problems;
    this.#invalidDocuments = result.invalidRules.length;
    this.#report(changes, keepPrevious);
    return changes;
  }

  #report(changes: RuleSetChanges, reload: boolean): void {
    for (const problem of this.#problems) {
      this.#log.error({ at: `${problem.file}:${problem.line}:${problem.col}`, code: problem.code }, `rule problem: ${formatProblem(problem)}`);
    }
    for (const id of changes.keptPrevious) {
      this.#log.warn({ rule: id }, 'the edited rule is invalid; its previous version keeps running');
    }
    const counts = {
      dir: this.#dir,
      rules: this.#rules.length,
      invalid: this.#invalidDocuments,
      ...(reload && {
        added: changes.added.length,
        changed: changes.changed.length,
        removed: changes.removed.length,
        unchanged: changes.unchanged.length,
        keptPrevious: changes.keptPrevious.length,
      }),
    };
    this.#log.info(counts, reload ? 'rules reloaded' : 'rules loaded');
  }
}

/**
 * The version in force of a rule whose document is now invalid: by its id when the id
 * can still be read, else by its place (same file, same document). None when the rule
 * is new, or when a valid rule of that id is loaded anyway (a duplicate left out).
 */
function previousVersionOf(invalid: InvalidRuleDocument, previous: ReadonlyMap<string, LoadedRule>, next: ReadonlyMap<string, LoadedRule>): LoadedRule | undefined {
  if (invalid.id !== undefined) {
    const byId = previous.get(invalid.id);
    if (byId) return next.has(invalid.id) ? undefined : byId;
  }
  for (const loaded of previous.values()) {
    if (loaded.file === invalid.file && loaded.index === invalid.index && !next.has(loaded.rule.id)) return loaded;
  }
  return undefined;
}

/** Watches the folder and everything below it (rules may sit in subfolders). */
function watchFolder(dir: string, listener: (file: string | null) => void): fs.FSWatcher {
  const onEvent = (_event: string, file: string | Buffer | null): void => listener(file === null ? null : path.basename(file.toString()));
  try {
    return fs.watch(dir, { recursive: true, persistent: false }, onEvent);
  } catch (err) {
    // Recursive watching is missing on some platforms and file systems: the folder itself still counts.
    if ((err as NodeJS.ErrnoException).code !== 'ERR_FEATURE_UNAVAILABLE_ON_PLATFORM') throw err;
    return fs.watch(dir, { persistent: false }, onEvent);
  }
}
