/**
 * The world the simulator starts from. Everything the bridge's own examples show is
 * reproduced as shown (the bot 4008697, group 389284 "huimei" and its members, the notice
 * "asdd", the contact 5858052, the handled friend request of 5138518); the rest is
 * invented so broadcasts, audits and mutes have targets.
 */

export type MemberRole = 'HOST' | 'MANAGE' | 'NORMAL';

export interface UserSeed {
  uid: number;
  nickName: string;
  icon?: string;
  signature?: string;
  identify?: string;
  createTime: number;
  /** Last time seen online: what the bridge calls `userOnOrOffline.createTime`. */
  lastSeen: number;
  online?: boolean;
}

export interface GroupSeed {
  id: number;
  name: string;
  hostId: number;
  createTime: number;
  aliasName?: string;
  qrUrl?: string;
  members: Array<{ uid: number; role?: MemberRole; score?: string; joinedAt: number }>;
  notice?: { noticeId: number; notice: string; releaseTime: number; editUid: number };
  bfJoinCheck?: boolean;
  /** `lastUpdateTime` of the member list; the latest join when absent. */
  membersUpdatedAt?: number;
}

export interface FriendRequestSeed {
  uid: number;
  msg: string;
  modifyTime: number;
  state: 'pending' | 'accepted' | 'rejected';
}

export const BOT_UID = 4008697;
export const DEFAULT_GROUP_PIC = 'http://r22.aiolet.xyz/config/default_group_icon.png';
export const DEFAULT_USER_ICON = 'http://r11.aiolet.xyz/common/pic/default_user_icon.jpg';
/** `privacy` of UserInfo, as the bridge's example shows it. */
export const BOT_PRIVACY = 4256;

export const INITIAL_USERS: readonly UserSeed[] = [
  {
    uid: BOT_UID,
    nickName: 'ID采集机器人🤖',
    icon: 'http://r11.aiolet.xyz/common/pic/202507/27/44eff667aad9eaa434a0af55d9cd4048.jpg',
    signature: '专业定制各类聊天软件自动化机器人',
    identify: 'k7m5tzmya2',
    createTime: 1746527494000,
    lastSeen: 1766280644006,
    online: true,
  },
  {
    uid: 7237423,
    nickName: 'Pwgen',
    icon: 'http://r11.aiolet.xyz/common/pic/202509/06/d55d17285d3a7290c7dc953b25465722.jpg',
    identify: '02lx0l99q6',
    createTime: 1746529904000,
    lastSeen: 1766242839299,
  },
  { uid: 4017572, nickName: '阿杰', identify: 'p3x8c1vq0d', createTime: 1747100000000, lastSeen: 1761010560062 },
  { uid: 7128348, nickName: 'Lily', identify: 'm2k9w7e5rt', createTime: 1748300000000, lastSeen: 1766141350379 },
  { uid: 5858052, nickName: '12🌽34🌽收cu商', identify: 'b6jo6y4p8h', createTime: 1750001000000, lastSeen: 1765734028244 },
  {
    uid: 5138518,
    nickName: '八方来财4',
    icon: 'http://r11.aiolet.xyz/common/pic/202509/07/a77c66e78a2c23d817e5ab00ca326baf.jpg',
    identify: 'am6gqf58go',
    createTime: 1757214075000,
    lastSeen: 1765000000000,
  },
  { uid: 6102001, nickName: '销售小张', identify: 'q1w2e3r4t5', createTime: 1751000000000, lastSeen: 1766200000000 },
  { uid: 6102002, nickName: '客户A-王', identify: 'y6u7i8o9p0', createTime: 1752000000000, lastSeen: 1766100000000 },
  { uid: 6102003, nickName: '客户B-李', identify: 'a1s2d3f4g5', createTime: 1752500000000, lastSeen: 1765900000000 },
  { uid: 6102004, nickName: 'Mike', identify: 'h6j7k8l9z0', createTime: 1753000000000, lastSeen: 1766000000000 },
  { uid: 6102005, nickName: 'VX加我看优惠', identify: 'x1c2v3b4n5', createTime: 1765900000000, lastSeen: 1766250000000 },
  { uid: 6102006, nickName: '小红', identify: 'm6n7b8v9c0', createTime: 1754000000000, lastSeen: 1766150000000 },
  { uid: 6102007, nickName: '销售经理老陈', identify: 'z9x8c7v6b5', createTime: 1750500000000, lastSeen: 1766210000000 },
  { uid: 6102008, nickName: 'Tom', identify: 'n4m3l2k1j0', createTime: 1755000000000, lastSeen: 1766050000000 },
  { uid: 6102009, nickName: '阿强', identify: 'r5t6y7u8i9', createTime: 1755500000000, lastSeen: 1765800000000 },
  { uid: 6102010, nickName: '售后小李', identify: 'o0p9i8u7y6', createTime: 1751500000000, lastSeen: 1766220000000 },
  { uid: 6203001, nickName: '小鱼儿', identify: 'f1g2h3j4k5', createTime: 1741000000000, lastSeen: 1766230000000 },
  { uid: 6203002, nickName: 'VX-稳赚项目', identify: 'l6k5j4h3g2', createTime: 1766180000000, lastSeen: 1766260000000 },
  { uid: 6203003, nickName: '老王', identify: 'd9s8a7p6o5', createTime: 1749000000000, lastSeen: 1766190000000 },
];

const HUIMEI_QR =
  'https://68chat.com?qrCode=CW3W6NMT&imQrCodeType=1&IdCode=DFA39FEAF43382DCDE35927E641A1D83&fromUid=4008697';

export const INITIAL_GROUPS: readonly GroupSeed[] = [
  {
    id: 389284,
    name: 'huimei',
    hostId: 7237423,
    createTime: 1753495200000,
    aliasName: 'k7d2dng8q8',
    qrUrl: HUIMEI_QR,
    bfJoinCheck: true,
    membersUpdatedAt: 1766114002864,
    members: [
      { uid: 7237423, role: 'HOST', score: '807415200000', joinedAt: 1753495200000 },
      { uid: BOT_UID, role: 'MANAGE', score: '1135394003000', joinedAt: 1753495300000 },
      { uid: 4017572, joinedAt: 1753600000000 },
      { uid: 7128348, joinedAt: 1753700000000 },
    ],
    notice: { noticeId: 1043631, notice: 'asdd', releaseTime: 1766201544598, editUid: 7237423 },
  },
  {
    id: 441298,
    name: 'VIP交流群',
    hostId: 6102007,
    createTime: 1754000000000,
    members: [
      { uid: 6102007, role: 'HOST', joinedAt: 1754000000000 },
      { uid: BOT_UID, role: 'MANAGE', joinedAt: 1754000100000 },
      { uid: 7128348, joinedAt: 1754100000000 },
      { uid: 4017572, joinedAt: 1754200000000 },
      { uid: 6102006, joinedAt: 1754300000000 },
    ],
  },
  {
    id: 512301,
    name: 'sales-1',
    hostId: 6102001,
    createTime: 1755000000000,
    members: [
      { uid: 6102001, role: 'HOST', joinedAt: 1755000000000 },
      { uid: BOT_UID, role: 'MANAGE', joinedAt: 1755000100000 },
      { uid: 6102002, joinedAt: 1755100000000 },
      { uid: 6102003, joinedAt: 1755200000000 },
      { uid: 6102004, joinedAt: 1755300000000 },
    ],
  },
  {
    id: 512302,
    name: 'sales-2',
    hostId: 6102001,
    createTime: 1755500000000,
    members: [
      { uid: 6102001, role: 'HOST', joinedAt: 1755500000000 },
      { uid: BOT_UID, role: 'MANAGE', joinedAt: 1755500100000 },
      { uid: 6102005, joinedAt: 1765950000000 },
      { uid: 6102006, joinedAt: 1755600000000 },
      { uid: 7128348, joinedAt: 1755700000000 },
    ],
  },
  {
    id: 512303,
    name: 'sales-3',
    hostId: 6102007,
    createTime: 1756000000000,
    notice: { noticeId: 1040007, notice: '欢迎加入 sales-3，有问题请私聊销售经理', releaseTime: 1760000000000, editUid: 6102007 },
    members: [
      { uid: 6102007, role: 'HOST', joinedAt: 1756000000000 },
      { uid: BOT_UID, role: 'MANAGE', joinedAt: 1756000100000 },
      { uid: 6102002, joinedAt: 1756100000000 },
      { uid: 6102008, joinedAt: 1756200000000 },
      { uid: 6102009, joinedAt: 1756300000000 },
      { uid: 6102004, joinedAt: 1756400000000 },
    ],
  },
  {
    id: 530001,
    name: 'support',
    hostId: 6102010,
    createTime: 1757000000000,
    members: [
      { uid: 6102010, role: 'HOST', joinedAt: 1757000000000 },
      { uid: BOT_UID, role: 'MANAGE', joinedAt: 1757000100000 },
      { uid: 6102001, role: 'MANAGE', joinedAt: 1757000200000 },
      { uid: 6102003, joinedAt: 1757100000000 },
      { uid: 6102008, joinedAt: 1757200000000 },
    ],
  },
];

/** The bot's friends, with the time each became one. */
export const INITIAL_CONTACTS: ReadonlyArray<{ uid: number; since: number }> = [
  { uid: 5858052, since: 1765734028244 },
  { uid: 7237423, since: 1753495000000 },
  { uid: 7128348, since: 1755000000000 },
  { uid: 6102001, since: 1755100000000 },
  { uid: 6102010, since: 1757000000000 },
  { uid: 5138518, since: 1759928661000 },
];

export const INITIAL_FRIEND_REQUESTS: readonly FriendRequestSeed[] = [
  { uid: 5138518, msg: '验证:我是八方来财4', modifyTime: 1759928661000, state: 'accepted' },
  { uid: 6203001, msg: '你好，我是 huimei 群里的小鱼儿', modifyTime: 1766230000000, state: 'pending' },
  { uid: 6203002, msg: '加我了解稳赚项目 http://t.cn/A6xYz', modifyTime: 1766261000000, state: 'pending' },
  { uid: 6203003, msg: '老王，sales-1 群里的客户', modifyTime: 1766262000000, state: 'pending' },
];
