/**
 * The soak's rule set: about fifty rules of every kind the daemon runs, drawn from a
 * seed so a failing soak can be replayed with the same rules. Each kind of rule owns
 * its groups where two rules would otherwise fight over the same state (a notice, a
 * whole-group mute), so anything the checker finds is the daemon's doing, not a
 * contradiction written into the rules.
 */
import type { Random } from '../../src/sim';

// === The world the rules talk about ===

/** Groups the soak adds to the simulator, by role. */
export const SOAK_GROUPS = {
  /** Broadcast targets, named soak-b1... (groupsMatching "^soak-b"). */
  broadcast: [700001, 700002, 700003, 700004, 700005, 700006],
  /** One rotateNotice rule each. */
  notices: [700011, 700012, 700013],
  /** One window rule each (whole-group mute). */
  windows: [700021, 700022],
  /** Where members post spam and keywords, and where the bot mutes them. */
  chat: [700031, 700032, 700033],
} as const;

/** The host of every soak group, also an admin friend of the bot. */
export const SOAK_HOST = 7237423;
/** Admin friends in the config (`to: { admins: true }`); both are the bot's contacts. */
export const SOAK_ADMINS = [7237423, 6102010] as const;
/** Ordinary members of every soak group. */
export const SOAK_MEMBERS = [4017572, 7128348, 6102006, 6102008] as const;
/** Contacts the driver sends friend messages from. */
export const SOAK_FRIENDS = [7237423, 7128348, 6102001] as const;
/** The group whose new members a watch rule greets and screens. */
export const WATCHED_GROUP = SOAK_GROUPS.chat[0];

/** Words that make the keyword rules answer; the answer repeats the word, so an echo that triggered would loop. */
export const KEYWORDS = ['价格', 'ping', 'help', '发货', '优惠', '地址', '客服', '退款'] as const;
/** Content that the anti-spam rules mute for. */
export const SPAM = ['加微 xyz123 领红包', '代理招募，日入过千', '看这里 https://spam.invalid/x', '兼职刷单 加我'] as const;
/** What a friend writes to ask for the status. */
const FRIEND_STATUS_PATTERN = '^(状态|status)$';
/** The ops that answer a friend request (UpdateContactsApply), as the soak's config sets them. */
export const FRIEND_ACCEPT_OP = 8;
export const FRIEND_REJECT_OP = 9;

/** A friend request whose message starts so is accepted by its own rule, not by the audit. */
export const COLLEAGUE_PREFIX = '同事';

// === Rules ===

/** The rule that audits every friend request, and the one that greets every newcomer of WATCHED_GROUP. */
export const AUDIT_RULE = 'soak-friend-audit';
export const WELCOME_RULE = 'soak-welcome';

/** What a message rule listens to, for the check that no pushed message goes unhandled. */
export interface MessageRuleSpec {
  id: string;
  chat: 'group' | 'friend';
  /** Group rules: the groups. */
  groups?: readonly number[];
  /** Any of these substrings. */
  contains?: readonly string[];
  /** A regular expression the content must match. */
  pattern?: string;
}

/** A window rule's group and times (UTC), for the check that the group ends in the window's state. */
export interface WindowRuleSpec {
  id: string;
  group: number;
  start: string;
  end: string;
}

/** A rotateNotice rule's group, order and notices, for the check that notices come in turn. */
export interface RotationRuleSpec {
  id: string;
  group: number;
  order: 'sequential' | 'shuffle';
  notices: readonly string[];
}

/** A rule that fires on a clock, for the check that the scheduler keeps firing. */
export interface TimedRule {
  id: string;
  /** Time between slots. */
  intervalMs: number;
}

export interface SoakRuleSet {
  /** File name → YAML text (several rules per file, separated by ---). */
  files: Record<string, string>;
  ids: string[];
  timed: TimedRule[];
  messages: MessageRuleSpec[];
  windows: WindowRuleSpec[];
  rotations: RotationRuleSpec[];
}

export interface SoakRuleOptions {
  random: Random;
  /** How many rules; at least one of each kind. */
  count: number;
  /** A minute boundary (UTC) a little after the start: window rules open and close around it. */
  windowMinute: Date;
}

interface MadeRule {
  yaml: string;
  timed?: TimedRule;
  message?: MessageRuleSpec;
  window?: WindowRuleSpec;
  rotation?: RotationRuleSpec;
}

type RuleMaker = (index: number, random: Random, options: SoakRuleOptions) => MadeRule;

/** Kinds in the order they are dealt; the share each gets of `count` follows `weight`. */
const KINDS: ReadonlyArray<{ file: string; weight: number; make: RuleMaker; max?: number }> = [
  { file: 'broadcast.yaml', weight: 10, make: broadcastRule },
  { file: 'every.yaml', weight: 8, make: everyRule },
  { file: 'keywords.yaml', weight: 8, make: keywordRule, max: KEYWORDS.length },
  { file: 'anti-spam.yaml', weight: 4, make: antiSpamRule, max: SOAK_GROUPS.chat.length },
  { file: 'notices.yaml', weight: 3, make: rotateNoticeRule, max: SOAK_GROUPS.notices.length },
  { file: 'windows.yaml', weight: 2, make: windowRule, max: SOAK_GROUPS.windows.length },
  { file: 'reads.yaml', weight: 6, make: readRule },
  { file: 'members.yaml', weight: 2, make: membersRule, max: 2 },
  { file: 'friends.yaml', weight: 3, make: friendRule, max: 3 },
  { file: 'misc.yaml', weight: 4, make: miscRule, max: 4 },
  { file: 'heartbeat.yaml', weight: 1, make: heartbeatRule, max: 1 },
];

/** Writes `count` rules (at least one per kind), their parameters drawn from `random`. */
export function soakRules(options: SoakRuleOptions): SoakRuleSet {
  const counts = dealCounts(Math.max(options.count, KINDS.length));
  const files: Record<string, string> = {};
  const ids: string[] = [];
  const timed: TimedRule[] = [];
  const messages: MessageRuleSpec[] = [];
  const windows: WindowRuleSpec[] = [];
  const rotations: RotationRuleSpec[] = [];
  KINDS.forEach((kind, k) => {
    const docs: string[] = [];
    for (let i = 0; i < counts[k]!; i++) {
      const made = kind.make(i, options.random, options);
      docs.push(made.yaml.trimEnd());
      ids.push(/^id: (\S+)/m.exec(made.yaml)![1]!);
      if (made.timed) timed.push(made.timed);
      if (made.message) messages.push(made.message);
      if (made.window) windows.push(made.window);
      if (made.rotation) rotations.push(made.rotation);
    }
    files[kind.file] = `${docs.join('\n---\n')}\n`;
  });
  return { files, ids, timed, messages, windows, rotations };
}

/** One per kind first, then the rest by weight, each kind capped by its `max`. */
function dealCounts(count: number): number[] {
  const counts = KINDS.map(() => 1);
  const totalWeight = KINDS.reduce((sum, kind) => sum + kind.weight, 0);
  let left = count - KINDS.length;
  // Bounded: every pass either places a rule or finds every kind full.
  for (let pass = 0; left > 0 && pass < count; pass++) {
    let placed = false;
    KINDS.forEach((kind, k) => {
      if (left <= 0) return;
      const share = Math.ceil((count * kind.weight) / totalWeight);
      if (counts[k]! < share && counts[k]! < (kind.max ?? Infinity)) {
        counts[k]! += 1;
        left -= 1;
        placed = true;
      }
    });
    if (!placed) {
      // Every kind reached its share: the uncapped kinds take the remainder in turn.
      const open = KINDS.map((kind, k) => (counts[k]! < (kind.max ?? Infinity) ? k : -1)).filter((k) => k >= 0);
      if (open.length === 0) break;
      counts[open[pass % open.length]!]! += 1;
      left -= 1;
    }
  }
  return counts;
}

function pick<T>(random: Random, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)]!;
}

function between(random: Random, min: number, max: number): number {
  return min + Math.floor(random() * (max - min + 1));
}

function hhmm(date: Date, minutesLater: number): string {
  const at = new Date(date.getTime() + minutesLater * 60_000);
  return `${String(at.getUTCHours()).padStart(2, '0')}:${String(at.getUTCMinutes()).padStart(2, '0')}`;
}

// --- kinds ---

/** A cron broadcast every few seconds to several groups, with a pause between groups. */
function broadcastRule(i: number, random: Random): MadeRule {
  const seconds = pick(random, [3, 4, 5, 6]);
  const id = `soak-broadcast-${i + 1}`;
  const except = random() < 0.5 ? `, except: [${pick(random, SOAK_GROUPS.broadcast)}]` : '';
  const to = random() < 0.7 ? `{ groupsMatching: "^soak-b"${except} }` : `{ groups: [${SOAK_GROUPS.broadcast.slice(0, between(random, 2, 4)).join(', ')}] }`;
  const misfire = pick(random, ['misfire: { policy: latest, grace: 30s }', 'misfire: { policy: all, grace: 30s, cap: 3, spacing: 1s }', 'misfire: { policy: skip }']);
  const yaml = `
id: ${id}
description: Broadcast ${i + 1}, every ${seconds}s
timezone: UTC
trigger: { cron: "*/${seconds} * * * * *" }
${misfire}
actions:
  - id: sent
    send:
      to: ${to}
      text: |
        broadcast ${i + 1} to {{ target.name }}
        slot {{ trigger.slot }}
      pause: ${between(random, 100, 400)}ms
    onError: continue
  - log: { message: "broadcast ${i + 1}: {{ steps.sent.sent }} sent, {{ steps.sent.failed }} failed" }
`;
  return { yaml, timed: { id, intervalMs: seconds * 1000 } };
}

/** An `every` rule: a read with retry, then a message or a file to one target. */
function everyRule(i: number, random: Random): MadeRule {
  const seconds = between(random, 3, 8);
  const id = `soak-every-${i + 1}`;
  const friend = random() < 0.4;
  const to = friend ? `{ friend: ${pick(random, SOAK_FRIENDS)} }` : `{ group: ${pick(random, SOAK_GROUPS.broadcast)} }`;
  const body = random() < 0.25 ? `file: 'C:\\share\\report-${i + 1}.pdf'` : `text: "every ${i + 1}: {{ steps.groups | size }} groups at {{ now | date: '%H:%M:%S' }}"`;
  const yaml = `
id: ${id}
description: Every ${seconds}s, a report to one target
trigger: { every: ${seconds}s }
actions:
  - id: groups
    read: { from: groups }
    retry: { attempts: 3, delay: 200ms }
  - send:
      to: ${to}
      ${body}
    onError: continue
`;
  return { yaml, timed: { id, intervalMs: seconds * 1000 } };
}

/** Answers a keyword in the chat groups; the answer repeats the keyword (the bot's echo must not trigger it). */
function keywordRule(i: number, random: Random): MadeRule {
  const keyword = KEYWORDS[i % KEYWORDS.length]!;
  const id = `soak-keyword-${i + 1}`;
  const yaml = `
id: ${id}
description: Answers "${keyword}"
trigger:
  message: { chat: group, groups: [${SOAK_GROUPS.chat.join(', ')}], contains: ["${keyword}"] }
concurrency: { mode: ${random() < 0.5 ? 'queue' : 'parallel'}, max: 20 }
actions:
  - send:
      to: { group: "{{ message.groupId }}" }
      text: "{{ message.senderName }} asked about ${keyword} (message {{ message.msgId }})"
`;
  return { yaml, message: { id, chat: 'group', groups: SOAK_GROUPS.chat, contains: [keyword] } };
}

/** Mutes a member who posts spam or floods; announces it; goes on when the mute fails. */
function antiSpamRule(i: number, random: Random): MadeRule {
  const group = SOAK_GROUPS.chat[i % SOAK_GROUPS.chat.length]!;
  const id = `soak-anti-spam-${i + 1}`;
  const yaml = `
id: ${id}
description: Mutes spammers and flooders in group ${group}
trigger:
  message: { chat: group, groups: [${group}] }
when:
  any:
    - match: { value: "{{ message.content }}", regex: "加微|代理|刷单|https?://" }
    - rate: { key: "{{ message.groupId }}:{{ message.senderId }}", count: 4, per: 5s }
concurrency: { mode: queue, max: 50 }
actions:
  - id: mute
    muteMember:
      group: "{{ message.groupId }}"
      uid: "{{ message.senderId }}"
      for: ${between(random, 20, 40)}s
      announce: "{{ message.senderName }} 违反群规，已被禁言"
    onError: continue
  - log: { message: "muted={{ steps.mute.muted }}" }
`;
  return { yaml, message: { id, chat: 'group', groups: [group] } };
}

/** Rotates the notice of its own group every few seconds, verified by reading it back. */
function rotateNoticeRule(i: number, random: Random): MadeRule {
  const group = SOAK_GROUPS.notices[i % SOAK_GROUPS.notices.length]!;
  const seconds = pick(random, [4, 5, 6]);
  const id = `soak-rotate-${i + 1}`;
  const order = random() < 0.5 ? 'sequential' : 'shuffle';
  const notices = [`群公告 ${i + 1}-A：请先阅读群规。`, `群公告 ${i + 1}-B：本周六晚 8 点线上分享。`, `群公告 ${i + 1}-C：禁止发布广告，违者禁言。`];
  const yaml = `
id: ${id}
description: Rotates the notice of group ${group}
trigger: { cron: "*/${seconds} * * * * *" }
actions:
  - rotateNotice:
      groups: [${group}]
      order: ${order}
      announce: true
      verify: true
      notices:
${notices.map((notice) => `        - ${notice}`).join('\n')}
    onError: continue
`;
  return { yaml, timed: { id, intervalMs: seconds * 1000 }, rotation: { id, group, order, notices } };
}

/**
 * Night mode in miniature: a one-minute window around `windowMinute`, so the soak sees
 * it reconciled at start, then open or close while the daemon runs.
 */
function windowRule(i: number, _random: Random, options: SoakRuleOptions): MadeRule {
  const group = SOAK_GROUPS.windows[i % SOAK_GROUPS.windows.length]!;
  // The first is open at the start and closes at windowMinute; the second opens then.
  const start = hhmm(options.windowMinute, i % 2 === 0 ? -1 : 0);
  const end = hhmm(options.windowMinute, i % 2 === 0 ? 0 : 1);
  const id = `soak-window-${i + 1}`;
  const yaml = `
id: ${id}
description: Whole-group mute of ${group} from ${start} to ${end} UTC
timezone: UTC
trigger:
  window: { start: "${start}", end: "${end}" }
actions:
  - groupMute:
      groups: [${group}]
      muted: "{{ window.inside }}"
      announce: { muted: "窗口 ${i + 1}：管理员开了全员禁言", unmuted: "窗口 ${i + 1}：管理员关闭了全员禁言" }
`;
  return { yaml, window: { id, group, start, end } };
}

/** Reads with retry into variables, then a log; sometimes a forEach over what was read. */
function readRule(i: number, random: Random): MadeRule {
  const seconds = between(random, 3, 7);
  const id = `soak-read-${i + 1}`;
  const group = pick(random, [...SOAK_GROUPS.broadcast, ...SOAK_GROUPS.chat]);
  const variants = [
    `  - id: members
    read: { from: members, group: ${group} }
    retry: { attempts: 4, delay: 100ms }
  - log: { message: "group ${group} has {{ steps.members | size }} members" }`,
    `  - id: detail
    read: { from: groupDetail, group: ${group} }
    retry: { attempts: 4, delay: 100ms }
  - log: { message: "group {{ steps.detail.name }}: notice {{ steps.detail.notice }}" }`,
    `  - id: requests
    read: { from: friendRequests }
    retry: { attempts: 3, delay: 150ms }
  - set: { pending: "{{ steps.requests | size }}" }
  - log: { message: "{{ vars.pending }} friend requests listed" }`,
    `  - id: contacts
    read: { from: contacts }
    retry: { attempts: 3, delay: 150ms }
  - forEach:
      items: "{{ steps.contacts }}"
      as: contact
      do:
        - log: { message: "contact {{ contact.uid }} {{ contact.nickName }}" }`,
    `  - id: raw
    request: { api: GroupDetail, data: { groupId: ${group} } }
    retry: { attempts: 3, delay: 100ms }
  - log: { message: "raw detail of ${group} read" }`,
  ];
  const yaml = `
id: ${id}
description: Reads every ${seconds}s
trigger: { every: ${seconds}s }
actions:
${variants[i % variants.length]}
`;
  return { yaml, timed: { id, intervalMs: seconds * 1000 } };
}

/** A watch on the watched group's members: greet every newcomer, or mute an advertising nickname. */
function membersRule(i: number): MadeRule {
  const yaml =
    i % 2 === 0
      ? `
id: ${WELCOME_RULE}
description: Greets each new member of ${WATCHED_GROUP}
trigger:
  watch: { list: members, group: ${WATCHED_GROUP}, every: 2s }
actions:
  - send:
      to: { group: ${WATCHED_GROUP} }
      text: "欢迎 {{ item.nickName }} 入群！"
`
      : `
id: soak-screen-newcomers
description: Mutes a newcomer of ${WATCHED_GROUP} whose nickname advertises
trigger:
  watch: { list: members, group: ${WATCHED_GROUP}, every: 3s }
when:
  match: { value: "{{ item.nickName }}", regex: "vx|加我|稳赚", flags: i }
actions:
  - muteMember:
      group: ${WATCHED_GROUP}
      uid: "{{ item.uid }}"
      for: 1m
      announce: "新成员 {{ item.nickName }} 的昵称疑似广告，已禁言"
`;
  return { yaml };
}

/** Friend requests: the audit (acting on the bridge), the colleagues' own rule, and a friend keyword. */
function friendRule(i: number): MadeRule {
  const yamls = [
    `
id: ${AUDIT_RULE}
description: Decides every friend request once, and tells the admins
trigger:
  watch: { list: friendRequests, every: 2s }
actions:
  - id: verdict
    audit:
      rules:
        - { when: { match: { value: "{{ request.msg }}", regex: "^${COLLEAGUE_PREFIX}" } }, verdict: flag }
        - { when: { match: { value: "{{ request.msg }}", regex: "代理|刷单|兼职" } }, verdict: reject }
        - { when: { accountYoungerThan: 1d }, verdict: hold }
        - { verdict: accept }
      dailyAcceptCap: 10000
      hold: { for: 5s, then: reject }
    onError: continue
  - send:
      to: { admins: true }
      text: "好友申请 {{ request.nickName }}（{{ request.uid }}）→ {{ steps.verdict.verdict }}"
    if: { compare: { value: "{{ steps.verdict.decidedBefore }}", op: ne, to: true } }
    onError: continue
`,
    `
id: soak-accept-colleagues
description: Accepts a colleague's pending friend request
trigger:
  watch: { list: friendRequests, every: 3s }
when:
  all:
    - match: { value: "{{ request.msg }}", regex: "^${COLLEAGUE_PREFIX}" }
    - compare: { value: "{{ request.status }}", op: eq, to: pending }
actions:
  - answerFriendRequest: { uid: "{{ request.uid }}", accept: true }
`,
    `
id: soak-friend-status
description: Answers a friend who asks for the status
trigger:
  message: { chat: friend, text: "${FRIEND_STATUS_PATTERN}" }
concurrency: { mode: queue, max: 20 }
actions:
  - send: { to: { friend: "{{ message.senderId }}" }, text: "rulebot is running ({{ message.content }})" }
`,
  ];
  const yaml = yamls[i % yamls.length]!;
  return i % yamls.length === 2 ? { yaml, message: { id: 'soak-friend-status', chat: 'friend', pattern: FRIEND_STATUS_PATTERN } } : { yaml };
}

/** The rest: a startup rule, choose / if, a stop, a delay with jitter. */
function miscRule(i: number, random: Random): MadeRule {
  const seconds = between(random, 4, 8);
  const yamls: Array<MadeRule> = [
    {
      yaml: `
id: soak-startup
description: Tells the admins the daemon started
trigger: { startup: true }
actions:
  - send: { to: { admins: true }, text: "rulebot started at {{ now | date: '%H:%M:%S' }}" }
    onError: continue
`,
    },
    {
      yaml: `
id: soak-choose
description: Even or odd seconds pick the branch
timezone: UTC
trigger: { every: ${seconds}s }
actions:
  - set: { second: "{{ now | date: '%S' }}" }
  - choose:
      if: { compare: { value: "{{ vars.second | modulo: 2 }}", op: eq, to: 0 } }
      then:
        - send: { to: { group: ${SOAK_GROUPS.broadcast[0]} }, text: "even second {{ vars.second }}" }
          onError: continue
      else:
        - log: { message: "odd second {{ vars.second }}" }
`,
      timed: { id: 'soak-choose', intervalMs: seconds * 1000 },
    },
    {
      yaml: `
id: soak-stop-early
description: Stops when there are few groups, else greets one
trigger: { every: ${seconds}s }
actions:
  - id: groups
    read: { from: groups }
    retry: { attempts: 3, delay: 100ms }
  - stop: { reason: "fewer than 5 groups" }
    if: { compare: { value: "{{ steps.groups | size }}", op: lt, to: 5 } }
  - send:
      to: { group: ${SOAK_GROUPS.broadcast[1]} }
      text: "{{ steps.groups | size }} groups"
`,
      timed: { id: 'soak-stop-early', intervalMs: seconds * 1000 },
    },
    {
      yaml: `
id: soak-jitter
description: A delay with jitter, then a message to a friend
trigger: { every: ${seconds}s }
actions:
  - delay: { for: 200ms, jitter: 800ms }
  - send: { to: { friend: ${SOAK_FRIENDS[2]} }, text: "jittered hello" }
`,
      timed: { id: 'soak-jitter', intervalMs: seconds * 1000 },
    },
  ];
  return yamls[i % yamls.length]!;
}

/** A local-only rule every 2 seconds: the plainest sign that the scheduler is firing. */
function heartbeatRule(): MadeRule {
  return {
    yaml: `
id: soak-heartbeat
description: Logs every two seconds
trigger: { cron: "*/2 * * * * *" }
actions:
  - log: { message: "beat {{ trigger.slot }}" }
`,
    timed: { id: 'soak-heartbeat', intervalMs: 2000 },
  };
}
