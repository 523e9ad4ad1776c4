/**
 * Rule files for the rules benchmark: N rules of every kind the example rules show
 * (timed broadcast, night-mode window, auto-mute on messages, new-member screen,
 * friend-request audit, notice rotation, interval heartbeat), each with its own id,
 * schedule, pattern and text, 50 documents to a file.
 */
import fs from 'node:fs';
import path from 'node:path';

const GROUPS = [389284, 441298, 512301, 512302, 512303, 530001];
const ZONES = ['Asia/Shanghai', 'UTC', 'Europe/Berlin', 'America/New_York'];
const WEEKDAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

function groupOf(n: number): number {
  return GROUPS[n % GROUPS.length]!;
}

/** One rule document; `n` makes its id, schedule, patterns and text its own. */
function ruleText(n: number): string {
  const group = groupOf(n);
  const zone = ZONES[n % ZONES.length]!;
  const minute = n % 60;
  const hour = (n >> 3) % 24;
  switch (n % 7) {
    case 0:
      return `id: greeting-${n}
description: Weekday greeting ${n} in the sales groups
timezone: ${zone}
trigger:
  cron: "${minute} ${hour} * * 1-5"
misfire: { policy: latest, grace: 15m }
actions:
  - send:
      to: { groupsMatching: "^sales", except: [512303] }
      text: |
        早上好，{{ target.name }}！
        今天是 {{ now | date: "%Y-%m-%d" }}，第 ${n} 号提醒。
      pause: 2s
`;
    case 1:
      return `id: night-${n}
description: Night mode ${n}
timezone: ${zone}
trigger:
  window: { start: "${String(21 + (n % 3)).padStart(2, '0')}:${String(minute).padStart(2, '0')}", end: "07:00", weekdays: [${WEEKDAYS.slice(0, 3 + (n % 5)).join(', ')}] }
actions:
  - groupMute:
      groups: [${group}]
      muted: "{{ window.inside }}"
      announce: { muted: 管理员开了全员禁言 ${n}, unmuted: 管理员关闭了全员禁言 ${n} }
`;
    case 2:
      return `id: anti-spam-${n}
description: Mute adverts and floods in group ${group}
trigger:
  message: { chat: group, groups: [${group}] }
when:
  - any:
      - match: { value: "{{ message.content }}", regex: "加微|代理|promo${n}|https?://" }
      - rate: { key: "{{ message.groupId }}:{{ message.senderId }}", count: ${3 + (n % 5)}, per: 10s }
      - uidIn: [${6_200_000 + n}]
concurrency: { mode: queue, max: 20 }
actions:
  - id: mute
    muteMember:
      group: "{{ message.groupId }}"
      uid: "{{ message.senderId }}"
      for: 1h
      exempt: { host: true, admins: true, uids: [7128348] }
  - send:
      to: { group: "{{ message.groupId }}" }
      text: "{{ message.senderName }} 已被禁言 1 小时 (${n})"
    if:
      compare: { value: "{{ steps.mute.muted }}", op: eq, to: true }
`;
    case 3:
      return `id: screen-${n}
description: Mute newcomers whose nickname advertises (${n})
timezone: ${zone}
trigger:
  watch: { list: members, group: ${group}, every: ${1 + (n % 5)}m }
when:
  any:
    - match: { value: "{{ item.nickName }}", regex: "vx|加我|稳赚|代理${n}", flags: i }
    - uidIn: [6102005, ${6_300_000 + n}]
actions:
  - muteMember:
      group: ${group}
      uid: "{{ item.uid }}"
      for: 1d
      announce: "新成员 {{ item.nickName }} 的昵称疑似广告，已禁言 1 天"
`;
    case 4:
      return `id: audit-${n}
description: Decide friend requests (${n})
timezone: ${zone}
trigger:
  watch: { list: friendRequests, every: ${1 + (n % 3)}m }
actions:
  - id: verdict
    audit:
      rules:
        - { when: { match: { value: "{{ request.msg }}", regex: "代理|刷单|兼职${n}" } }, verdict: reject }
        - { when: { uidIn: [${6_400_000 + n}] }, verdict: reject }
        - { when: { accountYoungerThan: 7d }, verdict: hold }
        - { verdict: accept }
      dailyAcceptCap: ${20 + (n % 50)}
      hold: { for: 24h, then: reject }
  - send:
      to: { admins: true }
      text: "好友申请 {{ request.nickName }}（{{ request.uid }}）：{{ request.msg }} → {{ steps.verdict.verdict }}"
`;
    case 5:
      return `id: notices-${n}
description: A new notice every morning (${n})
timezone: ${zone}
trigger: { cron: "${minute} ${hour} * * *" }
actions:
  - rotateNotice:
      groups: [${group}]
      order: ${n % 2 === 0 ? 'sequential' : 'shuffle'}
      announce: true
      verify: true
      notices:
        - 欢迎新朋友！请先阅读群规。(${n})
        - 本周六晚 8 点线上分享。
        - 禁止发布广告，违者禁言。
`;
    default:
      return `id: heartbeat-${n}
description: Heartbeat ${n}
timezone: ${zone}
trigger:
  every: { interval: ${5 + (n % 55)}m, offset: ${n % 5}m }
actions:
  - send:
      to: { group: ${group} }
      text: "heartbeat {{ now | date: '%H:%M' }}: {{ rule.id }}"
`;
  }
}

/** Writes `count` rules into `dir`, `perFile` documents to a file; returns the files written. */
export function writeRules(dir: string, count: number, perFile = 50): string[] {
  fs.mkdirSync(dir, { recursive: true });
  const files: string[] = [];
  for (let first = 0; first < count; first += perFile) {
    const docs: string[] = [];
    for (let n = first; n < Math.min(count, first + perFile); n++) docs.push(ruleText(n));
    const file = path.join(dir, `rules-${String(first / perFile).padStart(4, '0')}.yaml`);
    fs.writeFileSync(file, `# yaml-language-server: $schema=../schema/rules.schema.json\n${docs.join('---\n')}`);
    files.push(file);
  }
  return files;
}
