/**
 * The shape of a config file, as written: one TypeBox source gives ajv its JSON Schema
 * and TypeScript the type of the validated value. Defaults are applied later, in
 * resolve.ts, so this describes only what an operator may write.
 */
import { Type, type Static, type TSchema } from '@sinclair/typebox';
import { LOG_LEVELS } from '../shared/log';

/**
 * Keyword of the value checks that JSON Schema cannot say well (a duration, an IANA
 * time zone, a bridge URL); validate.ts registers it with ajv and words its errors.
 */
export const CHECK_KEYWORD = 'x-check';

export type CheckName = 'duration' | 'timezone' | 'bridgeUrl' | 'apiUrl' | 'listen' | 'id';

/** A value that must pass one of validate.ts's checks; the check also judges its type. */
function checked<T>(check: CheckName, description: string): TSchema & { static: T } {
  return Type.Unsafe<T>({ [CHECK_KEYWORD]: check, description });
}

/** "15s", "2m", "30d", or a number of milliseconds. */
const Duration = (description: string) => checked<string | number>('duration', description);

/** A user or group id: a whole number, or a string of digits (ids are strings inside rulebot). */
const Id = checked<number | string>('id', 'A user or group id');

/** One of a few strings; ajv's `enum` reports the allowed values in one message. */
function OneOf<const T extends readonly string[]>(values: T, description: string): TSchema & { static: T[number] } {
  return Type.Unsafe<T[number]>({ type: 'string', enum: [...values], description });
}

/**
 * `edition: 68` unquoted is a YAML number; it means the same as "68", so both are taken
 * (resolve.ts makes it a string) rather than answering a natural spelling with an error.
 */
const Edition = Type.Unsafe<'seed' | '68' | 68>({
  enum: ['seed', '68', 68],
  description: 'Bridge edition: seed (restartApp, no greeting, no pushes) or 68 (restart68, greeting, pushes)',
});

const strict = { additionalProperties: false } as const;

const SimSchema = Type.Object(
  {
    port: Type.Optional(Type.Integer({ minimum: 0, maximum: 65535, description: 'Port of the embedded simulator; 0 picks a free one' })),
    seed: Type.Optional(Type.Integer({ description: 'Seed of the simulated world and of its fault injection' })),
    edition: Type.Optional(Edition),
  },
  strict,
);

const BridgeSchema = Type.Object(
  {
    url: checked<string>('bridgeUrl', 'sim:// for the embedded simulator, or the ws:// address of a bridge'),
    edition: Type.Optional(Edition),
    apiUrl: Type.Optional(checked<string>('apiUrl', 'auto (ask the bridge with getApiUrl) or a fixed https:// base URL')),
    requestTimeout: Type.Optional(Duration('How long to wait for an answer frame')),
    newlines: Type.Optional(OneOf(['escaped', 'real'], 'How newlines travel in sendMsg content')),
    sim: Type.Optional(SimSchema),
  },
  strict,
);

const LogLevelSchema = OneOf(LOG_LEVELS, 'Lowest level written');

/** The whole config file. */
export const ConfigFileSchema = Type.Object(
  {
    bridge: BridgeSchema,
    timezone: Type.Optional(checked<string>('timezone', 'IANA time zone of rules that name none')),
    rules: Type.Optional(Type.String({ minLength: 1, description: 'Folder of rule files' })),
    database: Type.Optional(Type.String({ minLength: 1, description: 'SQLite file of the execution log' })),
    admins: Type.Optional(
      Type.Object(
        {
          friends: Type.Optional(Type.Array(Id, { description: 'Friend uids that `to: { admins: true }` reaches' })),
          groups: Type.Optional(Type.Array(Id, { description: 'Group ids that `to: { admins: true }` reaches' })),
        },
        strict,
      ),
    ),
    allowlist: Type.Optional(Type.Array(Id, { description: 'Uids never muted' })),
    rateLimit: Type.Optional(
      Type.Object(
        {
          perMinute: Type.Optional(Type.Integer({ minimum: 1, description: 'Outbound world-changing frames per minute, all rules together' })),
          perTargetGap: Type.Optional(Duration('Least time between two frames to the same target')),
        },
        strict,
      ),
    ),
    http: Type.Optional(
      Type.Union([
        Type.Literal(false),
        Type.Object({ listen: checked<string>('listen', 'host:port of the local health and control endpoint') }, strict),
      ]),
    ),
    retention: Type.Optional(
      Type.Object(
        {
          ok: Type.Optional(Duration('How long runs that went well are kept')),
          failed: Type.Optional(Duration('How long failed runs are kept')),
        },
        strict,
      ),
    ),
    shutdownTimeout: Type.Optional(Duration('How long runs in flight may take to finish when the daemon stops, before they are interrupted')),
    log: Type.Optional(
      Type.Object(
        {
          level: Type.Optional(LogLevelSchema),
          pretty: Type.Optional(Type.Boolean({ description: 'Human-readable lines instead of JSON (default: when stdout is a terminal)' })),
        },
        strict,
      ),
    ),
    friendRequests: Type.Optional(
      Type.Object(
        {
          act: Type.Optional(Type.Boolean({ description: 'Carry out accept / reject through the bridge' })),
          apiName: Type.Optional(Type.String({ minLength: 1 })),
          path: Type.Optional(Type.String({ pattern: '^/' })),
          acceptOp: Type.Optional(Type.Integer()),
          rejectOp: Type.Optional(Type.Integer()),
        },
        strict,
      ),
    ),
  },
  strict,
);

/** A config file that passed the schema: every key but bridge.url may be absent. */
export type ConfigFile = Static<typeof ConfigFileSchema>;
