/**
 * `rulebot audit`: the friend-request decisions, newest first, as a table (or `--json`).
 * Reads the database only, so it works while the daemon is down.
 *
 * `rulebot audit decide <uid> accept|reject`: an admin ends a held request. It writes the
 * decision to the database and nothing else: when accept / reject go to the bridge
 * (`act`), the running daemon's hold resolver sends the answer at its next check, after
 * making sure the request is still pending. So it works while the daemon is down too;
 * the answer then goes out when the daemon is back.
 */
import fs from 'node:fs';
import { InvalidArgumentError, Option, type Command } from 'commander';
import Table from 'cli-table3';
import { loadConfig, type Config } from '../../config';
import { actsOn, auditRecordOf, initialAnswer } from '../../engine/audit-record';
import { clockFromEnv } from '../../shared/clock';
import { RulebotError, UsageError } from '../../shared/errors';
import { RunStore } from '../../store/run-store';
import { AUDIT_STATES, AUDIT_VERDICTS, type AuditDecision, type AuditFilter, type AuditState, type AuditVerdict, type FinalAuditVerdict } from '../../store/types';
import { addConfigOption, addJsonOption, type ConfigOptions } from '../options';
import { printJson, printLines } from '../output';
import { formatLocalTime, oneLine } from '../format';
import { openForReading, parseSince } from './runs';

interface AuditListOptions extends ConfigOptions {
  verdict?: AuditVerdict;
  state?: AuditState;
  since?: number;
  limit: number;
  json?: boolean;
}

interface DecideOptions {
  requestTime?: string;
  by: string;
}

const DEFAULT_LIMIT = 50;
/** The verdicts an admin can end a hold with. */
const DECIDE_VERDICTS: readonly FinalAuditVerdict[] = ['accept', 'reject'];

export function register(program: Command): void {
  const audit = program
    .command('audit')
    .description('list friend-request decisions, newest first; `audit decide` ends a held one (works while the daemon is down)')
    .addOption(new Option('--verdict <verdict>', 'only decisions with this verdict').choices([...AUDIT_VERDICTS]))
    .addOption(new Option('--state <state>', 'only decisions in this state: held (waiting), decided (at once), resolved (a hold ended)').choices([...AUDIT_STATES]))
    .addOption(
      new Option('--since <when>', 'only decisions made since then: a duration back from now (1h, 1d) or an ISO-8601 instant').argParser((value) =>
        parseSince(value, clockFromEnv().now()),
      ),
    )
    .addOption(new Option('--limit <n>', 'how many decisions at most').argParser(parseLimit).default(DEFAULT_LIMIT));
  addConfigOption(audit);
  addJsonOption(audit, 'print the decisions as a JSON list');
  audit.addHelpText(
    'after',
    `
Exit status: 0 when the log could be read (an empty or missing log included), 1 when
it could not, 2 on a bad option.

Examples:
  rulebot audit
  rulebot audit --state held
  rulebot audit --verdict reject --since 1d --json
  rulebot audit decide 6203001 accept`,
  );
  audit.action(async (options: AuditListOptions) => {
    listDecisions(options);
  });

  const decide = audit
    .command('decide')
    .description('end a held friend request with accept or reject (the daemon carries it out when act is on)')
    .argument('<uid>', 'the applicant uid, as `rulebot audit --state held` lists it', parseUid)
    .argument('<verdict>', 'accept or reject', parseDecideVerdict)
    .option('--request-time <time>', 'which request of the uid, when it has several held (its requestTime in `rulebot audit --json`)')
    .option('--by <name>', 'who decides, for the record', 'admin');
  decide.addHelpText(
    'after',
    `
Also takes -c, --config <path> and --json, as rulebot audit does.

Exit status: 0 when the hold was ended, 1 when no request of that uid is held (or the
log could not be written), 2 on a bad argument or when the uid has several held
requests and --request-time does not say which.`,
  );
  decide.action(async (uid: string, verdict: FinalAuditVerdict, options: DecideOptions, command: Command) => {
    const globals = command.optsWithGlobals<AuditListOptions & DecideOptions>();
    for (const name of ['verdict', 'state', 'since'] as const) {
      if (globals[name] !== undefined) throw new UsageError(`--${name} filters the list; audit decide does not take it`);
    }
    decideHold(uid, verdict, { ...options, ...(globals.config !== undefined && { config: globals.config }), json: globals.json === true });
  });
}

// === Listing ===

function listDecisions(options: AuditListOptions): void {
  const config = loadConfig({ path: options.config });
  const filter: AuditFilter = { limit: options.limit };
  if (options.verdict !== undefined) filter.verdict = options.verdict;
  if (options.state !== undefined) filter.state = options.state;
  if (options.since !== undefined) filter.since = options.since;
  const store = openForReading(config);
  if (!store) {
    if (options.json) printJson([]);
    else printLines(`No execution log at ${config.databaseFile} yet: no friend request has been decided.`);
    return;
  }
  try {
    const decisions = store.audit.list(filter);
    if (options.json) printJson(decisions);
    else if (decisions.length === 0) printLines(`No friend-request decisions${describeFilter(options)}.`);
    else printLines(formatAuditTable(decisions, config.timezone));
  } finally {
    store.close();
  }
}

/** The decisions as a table, newest first as given. */
export function formatAuditTable(decisions: readonly AuditDecision[], timezone: string): string {
  const table = new Table({
    head: ['id', `decided (${timezone})`, 'uid', 'nickname', 'verdict', 'state', 'decided by', 'bridge', 'message'],
    style: { head: [], border: [], compact: true },
    colWidths: [null, null, null, null, null, null, null, null, 40],
    wordWrap: true,
  });
  for (const decision of decisions) {
    const state = decision.state === 'held' && decision.holdUntil !== null ? `held until ${formatLocalTime(decision.holdUntil, timezone)}` : decision.state;
    table.push([
      decision.id,
      formatLocalTime(decision.decidedAt, timezone),
      decision.uid,
      oneLine(decision.nickName ?? '', 20),
      decision.verdict,
      state,
      shortDecidedBy(decision.decidedBy),
      auditRecordOf(decision).answer.state,
      oneLine(decision.message ?? '', 80),
    ]);
  }
  return table.toString();
}

/** `actions/0/audit/rules/2` → `rules/2`; admins and fallbacks as written. */
function shortDecidedBy(decidedBy: string | null): string {
  return (decidedBy ?? '').replace(/^actions\/(?:[^/]+\/)*?audit\//, '');
}

function describeFilter(options: AuditListOptions): string {
  const parts: string[] = [];
  if (options.verdict !== undefined) parts.push(`with verdict ${options.verdict}`);
  if (options.state !== undefined) parts.push(`in state ${options.state}`);
  if (options.since !== undefined) parts.push(`since ${new Date(options.since).toISOString()}`);
  return parts.length > 0 ? ` ${parts.join(' ')}` : ' yet';
}

// === Deciding ===

function decideHold(uid: string, verdict: FinalAuditVerdict, options: DecideOptions & ConfigOptions & { json: boolean }): void {
  const config = loadConfig({ path: options.config });
  if (!fs.existsSync(config.databaseFile)) {
    throw new RulebotError('AUDIT_NOT_HELD', `no request of ${uid} is held: there is no execution log at ${config.databaseFile} yet`, { uid });
  }
  const clock = clockFromEnv();
  const store = RunStore.open(config.databaseFile, { clock });
  try {
    const held = heldRequestOf(store, uid, options.requestTime);
    const record = auditRecordOf(held);
    const acting = actsOn(record, config.friendRequests);
    const answer = initialAnswer(verdict, acting, config.friendRequests, clock.now());
    const decidedBy = `admin:${options.by}`;
    if (!store.audit.resolve(held.id, { verdict, decidedBy, actions: { ...record, answer } })) {
      throw new RulebotError('AUDIT_NOT_HELD', `the request of ${uid} (${held.requestTime}) was decided meanwhile; see rulebot audit`, { uid, id: held.id });
    }
    const decided = store.audit.getById(held.id)!;
    if (options.json) printJson(decided);
    else printLines(`Decision ${held.id}: ${describeRequest(held)} → ${verdict} (by ${decidedBy}).`, whatHappensNext(answer.state, config));
  } finally {
    store.close();
  }
}

/** The one held request of `uid` (of `requestTime`, when given). */
function heldRequestOf(store: RunStore, uid: string, requestTime: string | undefined): AuditDecision {
  // Holds are few: filtering them by uid here keeps the store's surface small.
  const held = store.audit.list({ state: 'held', limit: 100_000 }).filter((d) => d.uid === uid && (requestTime === undefined || d.requestTime === requestTime));
  if (held.length === 0) {
    const which = requestTime === undefined ? '' : ` with request time ${requestTime}`;
    throw new RulebotError('AUDIT_NOT_HELD', `no request of ${uid}${which} is held (rulebot audit --state held lists the held ones)`, { uid });
  }
  if (held.length > 1) {
    throw new UsageError(`${uid} has ${held.length} held requests; say which with --request-time (one of ${held.map((d) => d.requestTime).join(', ')})`);
  }
  return held[0]!;
}

function describeRequest(decision: AuditDecision): string {
  const name = decision.nickName ? `${decision.nickName} (${decision.uid})` : decision.uid;
  return `friend request of ${name}${decision.message ? `: ${oneLine(decision.message, 60)}` : ''}`;
}

function whatHappensNext(state: string, config: Config): string {
  switch (state) {
    case 'pending':
      return 'The running daemon answers it through the bridge at its next hold check (friendRequests.act is on); if the daemon is down, once it is back.';
    case 'skipped':
      return 'Nothing is sent: no friendRequests.rejectOp is configured, so the request stays unanswered on the bridge.';
    default:
      return `Recorded only: friendRequests.act is off in ${config.file}, so nothing is sent to the bridge.`;
  }
}

// === Arguments ===

function parseUid(value: string): string {
  if (!/^\d+$/.test(value)) throw new InvalidArgumentError('expected a uid (digits).');
  return value;
}

function parseDecideVerdict(value: string): FinalAuditVerdict {
  if (!(DECIDE_VERDICTS as readonly string[]).includes(value)) throw new InvalidArgumentError('expected accept or reject.');
  return value as FinalAuditVerdict;
}

function parseLimit(value: string): number {
  const limit = Number(value);
  if (!/^\d+$/.test(value) || limit < 1) throw new InvalidArgumentError('expected a whole number of at least 1.');
  return limit;
}
