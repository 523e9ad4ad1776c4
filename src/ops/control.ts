/**
 * The control requests a running daemon accepts, shared by the HTTP server (which
 * checks them) and the client the CLI uses (which sends them).
 */

/** `POST /control/run`: run a rule now, as `rulebot run <rule>` would. */
export interface RunRequest {
  /** The rule's id. */
  rule: string;
  /** Trigger data the rule's templates see (e.g. a message to test a message rule against). */
  event?: Record<string, unknown>;
  /** Record what would be sent without sending it. */
  dryRun?: boolean;
}

/** `POST /control/resume`: continue an interrupted run, as `rulebot resume <run>` would. */
export interface ResumeRequest {
  /** The id of the run to resume. */
  run: number;
  /** Send again to targets whose delivery is unknown (may send twice). @default false */
  resendUnknown?: boolean;
  /** Record what the resume would send without sending it. @default false */
  dryRun?: boolean;
}

/**
 * What the daemon does for control requests. A handler's result is sent as the JSON
 * body of a 200 answer: a run that ran and failed is a result, not an error. A handler
 * throws for a request it cannot carry out — a `ControlError` to choose the status (404
 * unknown rule, 409 refused by the rule's concurrency, 503 shutting down), any other
 * RulebotError for 422 with its code. A run keeps going if the client goes away.
 */
export interface ControlHandlers {
  run(request: RunRequest): unknown;
  resume(request: ResumeRequest): unknown;
}

/** A request body that is not what the route takes; the message names the field. */
export class BadRequest extends Error {}

/** Checks a `/control/run` body. @throws BadRequest */
export function parseRunRequest(body: unknown): RunRequest {
  const record = jsonObject(body);
  onlyKeys(record, ['rule', 'event', 'dryRun']);
  const { rule, event, dryRun } = record;
  if (typeof rule !== 'string' || rule === '') throw new BadRequest('rule must be a non-empty string (a rule id)');
  const request: RunRequest = { rule };
  if (event !== undefined) {
    if (typeof event !== 'object' || event === null || Array.isArray(event)) throw new BadRequest('event must be a JSON object');
    request.event = event as Record<string, unknown>;
  }
  if (dryRun !== undefined) {
    if (typeof dryRun !== 'boolean') throw new BadRequest('dryRun must be true or false');
    request.dryRun = dryRun;
  }
  return request;
}

/** Checks a `/control/resume` body. @throws BadRequest */
export function parseResumeRequest(body: unknown): ResumeRequest {
  const record = jsonObject(body);
  onlyKeys(record, ['run', 'resendUnknown', 'dryRun']);
  const { run, resendUnknown, dryRun } = record;
  if (typeof run !== 'number' || !Number.isSafeInteger(run) || run < 1) throw new BadRequest('run must be a run id (a positive whole number)');
  const request: ResumeRequest = { run };
  if (resendUnknown !== undefined) {
    if (typeof resendUnknown !== 'boolean') throw new BadRequest('resendUnknown must be true or false');
    request.resendUnknown = resendUnknown;
  }
  if (dryRun !== undefined) {
    if (typeof dryRun !== 'boolean') throw new BadRequest('dryRun must be true or false');
    request.dryRun = dryRun;
  }
  return request;
}

function jsonObject(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new BadRequest('the body must be a JSON object');
  return body as Record<string, unknown>;
}

/** Unknown fields are refused: a misspelt `dry_run` must not run the rule for real. */
function onlyKeys(record: Record<string, unknown>, allowed: readonly string[]): void {
  const unknown = Object.keys(record).filter((k) => !allowed.includes(k));
  if (unknown.length > 0) throw new BadRequest(`unknown field ${unknown.join(', ')} (allowed: ${allowed.join(', ')})`);
}
