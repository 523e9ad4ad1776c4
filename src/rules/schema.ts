/**
 * The rule language, once: ajv validates rule files with these schemas, types.ts derives
 * the TypeScript types from them, and generate-schema.ts writes schema/rules.schema.json
 * for editors from them.
 *
 * Kinds are single-key maps (`cron: ...`, `send: ...`): the key names the kind. Each kind's
 * schema is built by a function of the schema its nested conditions and actions use, so the
 * same definitions give two forms:
 * - the full, recursive form (types and the editor schema);
 * - the shallow form, where nested conditions and actions are left open. check.ts checks
 *   one node at a time with it, picking the kind's schema by its key, so an error names the
 *   fields of the kind the operator meant instead of ajv's "must match a schema in anyOf".
 */
import { Type, type Static, type TObject, type TProperties, type TSchema, type TUnion } from '@sinclair/typebox';
import { DURATION_PATTERN } from '../shared/duration';

// === Building blocks ===

const strict = { additionalProperties: false } as const;

/**
 * `title` names the kind of value in error messages ("must be a duration such as 30s ..."),
 * so every value with a pattern or a union of forms carries one.
 */
export const Duration = Type.Unsafe<string | number>(
  Type.Union([Type.String({ pattern: DURATION_PATTERN }), Type.Number({ minimum: 0 })], {
    title: 'a duration such as 500ms, 30s, 5m, 1h or 7d',
  }),
);

/** A template: a string that may hold LiquidJS `{{ ... }}` / `{% ... %}`. */
export const Template = Type.String({ description: 'Text; may use LiquidJS {{ ... }} templates' });

/**
 * A user or group id. YAML numbers are accepted; the loader turns every id into a string,
 * which is what the type says. A template (`"{{ message.groupId }}"`) is accepted too.
 */
export const ChatId = Type.Unsafe<string>(
  Type.Union([Type.Integer({ minimum: 0 }), Type.String({ minLength: 1 })], {
    title: 'an id (a number, or a template that gives one)',
  }),
);

/** Ids of rules and actions: history, state and `steps.<id>` key off them. */
export const ID_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]*$';
export const RuleId = Type.String({ pattern: ID_PATTERN, title: 'an id of letters, digits, ".", "_" and "-"' });

/** Action ids are read back in templates as `steps.<id>`, so they must be Liquid identifiers (no dots). */
export const ACTION_ID_PATTERN = '^[A-Za-z_][A-Za-z0-9_-]*$';
export const ActionId = Type.String({ pattern: ACTION_ID_PATTERN, title: 'an action id of letters, digits, "_" and "-" (starting with a letter or "_")' });

/** Names of variables (`set`, `forEach.as`). */
export const VARIABLE_NAME_PATTERN = '^[A-Za-z_][A-Za-z0-9_]*$';
export const VariableName = Type.String({ pattern: VARIABLE_NAME_PATTERN, title: 'a name of letters, digits and "_" (not starting with a digit)' });

export const TIME_OF_DAY_PATTERN = '^([01][0-9]|2[0-3]):[0-5][0-9]$';
export const TimeOfDay = Type.String({ pattern: TIME_OF_DAY_PATTERN, title: 'a time of day as "HH:MM" (00:00 to 23:59)' });

export const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] as const;
export const Weekday = Type.Union(WEEKDAYS.map((day) => Type.Literal(day)));
export const Weekdays = Type.Array(Weekday, { minItems: 1, uniqueItems: true });

/** A regular expression in RE2 syntax (linear time: no backreferences or lookarounds). */
export const Regex = Type.String({ description: 'A regular expression (RE2 syntax: no backreferences or lookarounds)' });

/** An IANA time zone name, checked with Intl. */
export const TimeZone = Type.String({ minLength: 1, description: 'An IANA time zone, e.g. Asia/Shanghai' });

/** Either `true` or `{}`: kinds that take no options. */
const NoOptions = Type.Union([Type.Literal(true), Type.Object({}, strict)], { title: 'true or {}' });

/** A value that may be one thing or a list of them. */
function OneOrMany<T extends TSchema>(item: T) {
  return Type.Union([item, Type.Array(item, { minItems: 1 })]);
}

// === Triggers ===

export const CronTrigger = Type.Union(
  [
    Type.String({ minLength: 1, description: 'Cron expression of 5 fields (minute first) or 6 (second first)' }),
    Type.Object({ expr: Type.String({ minLength: 1 }), timezone: Type.Optional(TimeZone) }, strict),
  ],
  { title: 'a cron expression, or { expr, timezone }' },
);

export const EveryTrigger = Type.Union(
  [Duration, Type.Object({ interval: Duration, offset: Type.Optional(Duration) }, strict)],
  { title: 'a duration, or { interval, offset }' },
);

export const WindowTrigger = Type.Object(
  { start: TimeOfDay, end: TimeOfDay, weekdays: Type.Optional(Weekdays) },
  { ...strict, description: 'Inside from start to end; crossing midnight counts the day the window opened' },
);

export const WATCH_LISTS = ['friendRequests', 'members', 'contacts', 'groups'] as const;
export const WatchTrigger = Type.Object(
  {
    list: Type.Union(WATCH_LISTS.map((name) => Type.Literal(name))),
    group: Type.Optional(ChatId),
    every: Duration,
    removed: Type.Optional(Type.Boolean({ default: false, description: 'Also fire once per item that disappears' })),
    existing: Type.Optional(Type.Boolean({ default: false, description: 'Fire for the items of the first poll too (default: the first poll is a baseline)' })),
  },
  strict,
);

export const MESSAGE_CHATS = ['group', 'friend', 'any'] as const;
export const MessageTrigger = Type.Object(
  {
    chat: Type.Optional(Type.Union(MESSAGE_CHATS.map((name) => Type.Literal(name)), { default: 'any' })),
    groups: Type.Optional(Type.Array(ChatId, { minItems: 1 })),
    friends: Type.Optional(Type.Array(ChatId, { minItems: 1 })),
    senders: Type.Optional(Type.Array(ChatId, { minItems: 1 })),
    msgTypes: Type.Optional(Type.Array(Type.Integer({ minimum: 0 }), { minItems: 1 })),
    text: Type.Optional(Regex),
    contains: Type.Optional(Type.Array(Type.String({ minLength: 1 }), { minItems: 1 })),
  },
  strict,
);

export const PUSH_EVENTS = ['groupUpdate', 'groupNotification', 'delivery', 'recall', 'any'] as const;
export const PushTrigger = Type.Object(
  {
    event: Type.Union(PUSH_EVENTS.map((name) => Type.Literal(name))),
    groups: Type.Optional(Type.Array(ChatId, { minItems: 1 })),
  },
  strict,
);

/** Every trigger kind and the schema of its options. */
export const TRIGGER_KIND_SCHEMAS = {
  cron: CronTrigger,
  every: EveryTrigger,
  window: WindowTrigger,
  watch: WatchTrigger,
  message: MessageTrigger,
  push: PushTrigger,
  startup: NoOptions,
  manual: NoOptions,
};

// === Conditions ===

export const COMPARE_OPS = ['eq', 'ne', 'lt', 'le', 'gt', 'ge', 'contains', 'in', 'startsWith', 'endsWith'] as const;

/** The schema of each condition kind, given the schema of a nested condition. */
function conditionKindSchemas<C extends TSchema>(condition: C) {
  return {
    time: Type.Object(
      { after: Type.Optional(TimeOfDay), before: Type.Optional(TimeOfDay), weekdays: Type.Optional(Weekdays) },
      { ...strict, minProperties: 1, description: 'True between after and before (crossing midnight allowed) on the given weekdays' },
    ),
    compare: Type.Object(
      { value: Template, op: Type.Union(COMPARE_OPS.map((op) => Type.Literal(op))), to: Type.Unknown() },
      strict,
    ),
    match: Type.Object(
      { value: Template, regex: Regex, flags: Type.Optional(Type.String({ pattern: '^[ims]*$', title: 'regex flags: any of i, m, s' })) },
      strict,
    ),
    rate: Type.Object(
      {
        key: Template,
        count: Type.Integer({ minimum: 1, description: 'True from the count-th event of the key within `per`' }),
        per: Duration,
      },
      strict,
    ),
    all: Type.Array(condition, { minItems: 1 }),
    any: Type.Array(condition, { minItems: 1 }),
    not: condition,
    accountYoungerThan: Duration,
    uidIn: Type.Array(ChatId, { minItems: 1 }),
  };
}

// === Targets ===

/** Group selectors, shared by `send` targets and the group-management actions. */
const groupSelectors = {
  group: Type.Optional(ChatId),
  groups: Type.Optional(Type.Array(ChatId, { minItems: 1 })),
  groupsMatching: Type.Optional(Regex),
  allGroups: Type.Optional(Type.Literal(true)),
};

/** Who a `send` reaches; resolved against getGroups at run time. */
export const Targets = Type.Object(
  {
    ...groupSelectors,
    friend: Type.Optional(ChatId),
    friends: Type.Optional(Type.Array(ChatId, { minItems: 1 })),
    admins: Type.Optional(Type.Literal(true)),
    except: Type.Optional(Type.Array(ChatId, { minItems: 1 })),
  },
  strict,
);

/** The groups a group-management action acts on: a list of ids, or group selectors. */
export const GroupTargets = Type.Union(
  [Type.Array(ChatId, { minItems: 1 }), Type.Object({ ...groupSelectors, except: Type.Optional(Type.Array(ChatId, { minItems: 1 })) }, strict)],
  { title: 'a list of group ids, or { group, groups, groupsMatching, allGroups, except }' },
);

// === Actions ===

export const READ_SOURCES = ['groups', 'groupDetail', 'members', 'contacts', 'contactDetail', 'onlineStatus', 'userInfo', 'friendRequests'] as const;
export const LOG_LEVELS = ['info', 'warn', 'error'] as const;
export const STOP_STATUSES = ['ok', 'failed'] as const;
export const NOTICE_ORDERS = ['sequential', 'shuffle'] as const;
export const VERDICTS = ['accept', 'reject', 'flag', 'hold'] as const;
export const ON_ERROR = ['stop', 'continue'] as const;
/** The longest member mute the platform takes. */
export const MAX_MEMBER_MUTE = '30d';

/** The schema of each action kind, given the schemas of a nested condition and a nested action. */
function actionKindSchemas<C extends TSchema, A extends TSchema>(condition: C, action: A) {
  const conditions = OneOrMany(condition);
  return {
    send: Type.Object(
      {
        to: Targets,
        text: Type.Optional(Template),
        file: Type.Optional(Type.String({ minLength: 1, description: 'Path of a file on the bridge host' })),
        pause: Type.Optional(Duration),
        chatType: Type.Optional(Type.Integer({ minimum: 0, default: 0 })),
      },
      { ...strict, description: 'Send text or a file to each target in turn; exactly one of text and file' },
    ),
    request: Type.Object(
      {
        api: Type.String({ minLength: 1, description: 'An ApiName of the bridge (GroupDetail, GroupUpdate, ...)' }),
        path: Type.Optional(Type.String({ pattern: '^/', title: 'a path starting with /' })),
        data: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
        protoType: Type.Optional(Type.Literal('group')),
      },
      strict,
    ),
    read: Type.Object(
      {
        from: Type.Union(READ_SOURCES.map((name) => Type.Literal(name))),
        group: Type.Optional(ChatId),
        uid: Type.Optional(ChatId),
        uids: Type.Optional(Type.Union([Type.Array(ChatId, { minItems: 1 }), Template], { title: 'a list of ids, or a template' })),
      },
      strict,
    ),
    choose: Type.Object(
      { if: conditions, then: Type.Array(action, { minItems: 1 }), else: Type.Optional(Type.Array(action, { minItems: 1 })) },
      { ...strict, description: 'Runs `then` when the condition holds, else `else`' },
    ),
    forEach: Type.Object(
      {
        items: Type.Union([Template, Type.Array(Type.Unknown())], { title: 'a list, or a template that gives one' }),
        as: Type.Optional(Type.String({ pattern: VARIABLE_NAME_PATTERN, default: 'item', title: VariableName.title })),
        do: Type.Array(action, { minItems: 1 }),
        pause: Type.Optional(Duration),
      },
      strict,
    ),
    delay: Type.Object({ for: Duration, jitter: Type.Optional(Duration) }, strict),
    set: Type.Record(Type.String(), Type.Unknown(), { minProperties: 1, description: 'Variables to set: name → template or value' }),
    log: Type.Object(
      { message: Template, level: Type.Optional(Type.Union(LOG_LEVELS.map((level) => Type.Literal(level)), { default: 'info' })) },
      strict,
    ),
    stop: Type.Object(
      { reason: Type.Optional(Template), status: Type.Optional(Type.Union(STOP_STATUSES.map((status) => Type.Literal(status)), { default: 'ok' })) },
      strict,
    ),
    restart: NoOptions,
    groupMute: Type.Object(
      {
        groups: GroupTargets,
        muted: Type.Union([Type.Boolean(), Template], { title: 'true, false, or a template that gives one' }),
        announce: Type.Optional(
          Type.Union([Type.Object({ muted: Template, unmuted: Template }, strict), Type.Literal(false)], {
            title: '{ muted, unmuted } texts, or false',
          }),
        ),
      },
      { ...strict, description: 'Whole-group mute (GroupUpdate op 11) with the chatType 50 announcement; acts only where a group differs' },
    ),
    muteMember: Type.Object(
      {
        group: ChatId,
        uid: ChatId,
        for: Duration,
        announce: Type.Optional(Template),
        exempt: Type.Optional(
          Type.Object(
            {
              host: Type.Optional(Type.Boolean({ default: true })),
              admins: Type.Optional(Type.Boolean({ default: true })),
              uids: Type.Optional(Type.Array(ChatId)),
            },
            strict,
          ),
        ),
      },
      { ...strict, description: `GroupMemberShutup for a duration of at most ${MAX_MEMBER_MUTE}` },
    ),
    setNotice: Type.Object(
      { groups: GroupTargets, notice: Template, announce: Type.Optional(Type.Boolean({ default: true })) },
      { ...strict, description: 'GroupUpdate op 12, then the chatType 8 announcement' },
    ),
    rotateNotice: Type.Object(
      {
        groups: GroupTargets,
        notices: Type.Array(Template, { minItems: 1 }),
        order: Type.Optional(Type.Union(NOTICE_ORDERS.map((order) => Type.Literal(order)), { default: 'sequential' })),
        announce: Type.Optional(Type.Boolean({ default: true })),
        verify: Type.Optional(Type.Boolean({ default: true })),
      },
      strict,
    ),
    audit: Type.Object(
      {
        rules: Type.Array(
          Type.Object({ when: Type.Optional(conditions), verdict: Type.Union(VERDICTS.map((verdict) => Type.Literal(verdict))) }, strict),
          { minItems: 1, description: 'Checked in order; the first whose `when` holds gives the verdict' },
        ),
        dailyAcceptCap: Type.Optional(Type.Integer({ minimum: 0 })),
        hold: Type.Optional(Type.Object({ for: Duration, then: Type.Union([Type.Literal('accept'), Type.Literal('reject')]) }, strict)),
        act: Type.Optional(Type.Boolean({ description: 'Carry out accept / reject through the bridge (default: the config file\'s friendRequests.act)' })),
      },
      strict,
    ),
    answerFriendRequest: Type.Object(
      { uid: ChatId, accept: Type.Union([Type.Boolean(), Template], { title: 'true, false, or a template that gives one' }) },
      strict,
    ),
  };
}

/** Options every action may carry beside its kind key. */
function commonActionOptions<C extends TSchema>(condition: C) {
  return {
    id: Type.Optional(ActionId),
    description: Type.Optional(Type.String()),
    if: Type.Optional(OneOrMany(condition)),
    retry: Type.Optional(
      Type.Object(
        {
          attempts: Type.Integer({ minimum: 1, maximum: 10, description: 'Attempts in all, the first included' }),
          delay: Type.Optional(Duration),
          unsafe: Type.Optional(Type.Boolean({ description: 'Allow retrying an action that changes the world' })),
        },
        { ...strict, description: 'Retries transient errors (bridge busy, timeouts on reads)' },
      ),
    ),
    onError: Type.Optional(Type.Union(ON_ERROR.map((mode) => Type.Literal(mode)), { default: 'stop' })),
  };
}

// === Single-key kinds ===

/** `{ [kind]: options } & extra` for every kind of a table, as a union of object schemas. */
type KindObjects<Kinds extends TProperties, Extra extends TProperties> = {
  [Name in keyof Kinds & string]: TObject<{ [Key in Name]: Kinds[Name] } & Extra>;
}[keyof Kinds & string];

function kindObject<Kinds extends TProperties, Extra extends TProperties, Name extends keyof Kinds & string>(
  kinds: Kinds,
  name: Name,
  extra: Extra,
): TObject<{ [Key in Name]: Kinds[Name] } & Extra> {
  return Type.Object({ [name]: kinds[name], ...extra } as { [Key in Name]: Kinds[Name] } & Extra, strict);
}

function kindUnion<Kinds extends TProperties, Extra extends TProperties>(kinds: Kinds, extra: Extra, title: string): TUnion<Array<KindObjects<Kinds, Extra>>> {
  const members = (Object.keys(kinds) as Array<keyof Kinds & string>).map((name) => kindObject(kinds, name, extra));
  return Type.Union(members as Array<KindObjects<Kinds, Extra>>, { title });
}

// === Full (recursive) schemas: types and the editor schema ===

export const ConditionSchema = Type.Recursive((self) => kindUnion(conditionKindSchemas(self), {}, 'a condition'), { $id: 'Condition' });
const ConditionRef = Type.Unsafe<Static<typeof ConditionSchema>>(Type.Ref('Condition'));

export const ActionSchema = Type.Recursive(
  (self) => kindUnion(actionKindSchemas(ConditionRef, self), commonActionOptions(ConditionRef), 'an action'),
  { $id: 'Action' },
);
const ActionRef = Type.Unsafe<Static<typeof ActionSchema>>(Type.Ref('Action'));

export const TriggerSchema = kindUnion(TRIGGER_KIND_SCHEMAS, {}, 'a trigger');

export const CONCURRENCY_MODES = ['skip', 'queue', 'parallel'] as const;
export const ConcurrencyMode = Type.Union(CONCURRENCY_MODES.map((mode) => Type.Literal(mode)));
export const Concurrency = Type.Union(
  [ConcurrencyMode, Type.Object({ mode: ConcurrencyMode, max: Type.Optional(Type.Integer({ minimum: 1 })) }, strict)],
  { title: 'skip, queue, parallel, or { mode, max }', default: 'skip' },
);

export const MISFIRE_POLICIES = ['skip', 'latest', 'all'] as const;
export const Misfire = Type.Object(
  {
    policy: Type.Union(MISFIRE_POLICIES.map((policy) => Type.Literal(policy))),
    grace: Type.Optional(Duration),
    cap: Type.Optional(Type.Integer({ minimum: 1 })),
    spacing: Type.Optional(Duration),
  },
  { ...strict, description: 'What to do with the slots missed while the daemon was down' },
);

export const Resume = Type.Object(
  {
    auto: Type.Optional(Type.Boolean({ default: true, description: 'Finish an interrupted broadcast when the daemon is back' })),
    within: Type.Optional(Duration),
  },
  strict,
);

/** The properties of a rule, given the schemas of its trigger, conditions and actions. */
function ruleProperties<T extends TSchema, C extends TSchema, A extends TSchema>(trigger: T, condition: C, action: A) {
  return {
    id: RuleId,
    description: Type.Optional(Type.String()),
    enabled: Type.Optional(Type.Boolean({ default: true })),
    timezone: Type.Optional(TimeZone),
    trigger,
    when: Type.Optional(OneOrMany(condition)),
    concurrency: Type.Optional(Concurrency),
    misfire: Type.Optional(Misfire),
    resume: Type.Optional(Resume),
    vars: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    actions: Type.Array(action, { minItems: 1 }),
  };
}

/** A rule: one YAML document of a rule file. */
export const RuleSchema = Type.Object(ruleProperties(TriggerSchema, ConditionRef, ActionRef), {
  ...strict,
  title: 'rulebot rule',
  description: 'One automation rule: a trigger, optional conditions, and a pipeline of actions',
});

/** Definitions the full rule schema refers to by `$ref`. */
export const RULE_SCHEMA_DEFINITIONS = { Condition: ConditionSchema, Action: ActionSchema };

// === Shallow schemas: one node at a time, for check.ts ===

const Open = Type.Unknown();

/** A rule with its trigger, conditions and actions left to per-kind checks. */
export const RuleShellSchema = Type.Object(ruleProperties(Open, Open, Open), strict);

/** Options of each kind with nested conditions and actions left open. */
export const SHALLOW_CONDITION_KIND_SCHEMAS = conditionKindSchemas(Open);
export const SHALLOW_ACTION_KIND_SCHEMAS = actionKindSchemas(Open, Open);
export const SHALLOW_COMMON_ACTION_OPTIONS = commonActionOptions(Open);

/** `{ [kind]: schema of one node of that kind }` for every kind of a table. */
function nodeSchemas<Kinds extends TProperties, Extra extends TProperties>(kinds: Kinds, extra: Extra): { [Name in keyof Kinds & string]: TObject } {
  const out = {} as { [Name in keyof Kinds & string]: TObject };
  for (const name of Object.keys(kinds) as Array<keyof Kinds & string>) out[name] = kindObject(kinds, name, extra) as TObject;
  return out;
}

/** One action of each kind, with its nested conditions and actions left open. */
export const SHALLOW_ACTION_SCHEMAS = nodeSchemas(SHALLOW_ACTION_KIND_SCHEMAS, SHALLOW_COMMON_ACTION_OPTIONS);
/** One condition of each kind, with its nested conditions left open. */
export const SHALLOW_CONDITION_SCHEMAS = nodeSchemas(SHALLOW_CONDITION_KIND_SCHEMAS, {});
/** One trigger of each kind. */
export const TRIGGER_SCHEMAS = nodeSchemas(TRIGGER_KIND_SCHEMAS, {});

/** Names of the options every action may carry beside its kind key. */
export const COMMON_ACTION_OPTION_NAMES = Object.keys(SHALLOW_COMMON_ACTION_OPTIONS) as Array<keyof typeof SHALLOW_COMMON_ACTION_OPTIONS>;
