/**
 * World state rendered as the bridge's payloads, key for key in the order of the seed's
 * examples. `request` answers carry ids and counts as strings; getGroups and pushes carry
 * numbers (PROTOCOL.md, gap 1). Pure functions: no I/O, no clock.
 */
import { createHash } from 'node:crypto';
import { GROUP_NOTIFICATION_TYPES, READ_STATUS, REQUEST_OK_CODE, type PushFrame } from '../protocol/wire';
import { BOT_PRIVACY } from './initial-world';
import { MEMBER_TYPE_OF_ROLE, type SimFriendRequest, type SimGroup, type SimMember, type SimMessage, type SimUser, type World } from './world';

/** Rights an admin holds, as msgNew's sendMember and GroupDetail show them. */
const ADMIN_RIGHT = { bfUpdateData: true, bfJoinCheck: true, bfPushNotice: true } as const;
/** Group views hide the search id. */
const HIDDEN_IDENTIFY = '--';

function isAdmin(member: SimMember | undefined): boolean {
  return member !== undefined && member.role !== 'NORMAL';
}

/** The contact-list letter: the nickname's first Latin letter, else "#". */
export function letterOf(nickName: string): string {
  const first = nickName.charAt(0);
  return /[A-Za-z]/.test(first) ? first.toUpperCase() : '#';
}

/** A `request` answer: commonResult first, then the payload. */
export function requestAnswer(payload: Record<string, unknown> = {}): Record<string, unknown> {
  return { commonResult: { errCode: REQUEST_OK_CODE }, ...payload };
}

// === request payloads ===

export function userInfoPayload(world: World): Record<string, unknown> {
  const bot = world.bot;
  return {
    userInfo: {
      uid: String(bot.uid),
      nickName: bot.nickName,
      icon: bot.icon,
      signature: bot.signature,
      identify: bot.identify,
      createTime: String(bot.createTime),
    },
    bfPassword: true,
    privacy: BOT_PRIVACY,
    signature: bot.signature,
  };
}

function onlineState(user: SimUser): { uid: string; createTime: string; bfShow: boolean } {
  return { uid: String(user.uid), createTime: String(user.lastSeen), bfShow: true };
}

export function contactsListPayload(world: World): Record<string, unknown> {
  const contactsList = [...world.contacts.values()].map((contact) => {
    const user = world.user(contact.uid);
    return {
      userInfo: {
        uid: String(user.uid),
        nickName: user.nickName,
        friendRelation: { bfFriend: true },
        userOnOrOffline: onlineState(user),
        identify: user.identify,
      },
      letter: letterOf(user.nickName),
      msgCancelTime: contact.msgCancelTime,
      bfReadReceipt: contact.bfReadReceipt,
    };
  });
  return { contactsList, count: contactsList.length, pageNum: 1, lastUpdateTime: String(world.contactsUpdatedAt) };
}

export function contactsDetailPayload(world: World, uid: number): Record<string, unknown> {
  const user = world.user(uid);
  const contact = world.contacts.get(uid);
  return {
    contactsDetailBase: {
      userInfo: {
        uid: String(user.uid),
        nickName: user.nickName,
        icon: user.icon,
        friendRelation: { bfFriend: contact !== undefined },
        userOnOrOffline: onlineState(user),
        identify: user.identify,
        createTime: String(user.createTime),
      },
      letter: letterOf(user.nickName),
      msgCancelTime: contact?.msgCancelTime ?? 30,
      commonGroupNum: world.commonGroupCount(uid),
      bfReadReceipt: contact?.bfReadReceipt ?? false,
      bfIdSearch: true,
    },
  };
}

function applyRecord(world: World, request: SimFriendRequest): Record<string, unknown> {
  const user = world.user(request.uid);
  return {
    userInfo: {
      uid: String(user.uid),
      nickName: user.nickName,
      icon: user.icon,
      identify: user.identify,
      createTime: String(user.createTime),
    },
    msg: request.msg,
    modifyTime: String(request.modifyTime),
    type: 'IDENTIFY',
    bfIdSearch: true,
  };
}

/** Handled requests under `recordList` (the seed's one list), pending ones under `unRecordList`. */
export function contactsApplyListPayload(world: World): Record<string, unknown> {
  return {
    recordList: world.handledFriendRequests().map((r) => applyRecord(world, r)),
    unRecordList: world.pendingFriendRequests().map((r) => applyRecord(world, r)),
  };
}

function memberEntry(world: World, group: SimGroup, member: SimMember): Record<string, unknown> {
  const user = world.user(member.uid);
  const entry: Record<string, unknown> = {
    user: {
      uid: String(user.uid),
      nickName: user.nickName,
      icon: user.icon,
      friendRelation: { bfFriend: world.isFriend(user.uid) },
      identify: HIDDEN_IDENTIFY,
    },
    groupId: String(group.id),
    score: member.score,
    right: {},
  };
  // The seed shows only `right: {}` (for the host); admins carry their role the way
  // msgNew's sendMember does, so a client can exempt them.
  if (member.role === 'MANAGE') {
    entry.type = 'MANAGE';
    entry.right = { ...ADMIN_RIGHT };
  }
  return entry;
}

export function groupMemberListPayload(world: World, group: SimGroup, pageNum: number, pageSize: number): Record<string, unknown> {
  const all = [...group.members.values()];
  const page = all.slice((pageNum - 1) * pageSize, pageNum * pageSize);
  return {
    members: page.map((m) => memberEntry(world, group, m)),
    count: String(all.length),
    lastUpdateTime: String(group.membersUpdatedAt),
  };
}

export function onlineStatusPayload(world: World, group: SimGroup, uids: readonly number[]): Record<string, unknown> {
  const userOnLineStatusList = uids
    .filter((uid) => group.members.has(uid))
    .map((uid) => {
      const user = world.user(uid);
      return user.online
        ? { uid: String(uid), online: true, createTime: String(user.lastSeen), bfShow: true }
        : onlineState(user);
    });
  return { userOnLineStatusList };
}

function noticeShape(world: World, group: SimGroup): Record<string, unknown> | '' {
  const notice = group.notice;
  if (!notice) return '';
  const editor = world.user(notice.editUid);
  return {
    editUser: {
      user: {
        uid: String(editor.uid),
        nickName: editor.nickName,
        icon: editor.icon,
        identify: HIDDEN_IDENTIFY,
        createTime: String(editor.createTime),
      },
      groupId: String(group.id),
      score: group.members.get(editor.uid)?.score ?? '0',
    },
    notice: notice.notice,
    releaseTime: String(notice.releaseTime),
    noticeId: String(notice.noticeId),
  };
}

export function groupDetailPayload(world: World, group: SimGroup): Record<string, unknown> {
  const bot = group.members.get(world.botUid);
  return {
    group: {
      groupId: String(group.id),
      hostId: String(group.hostId),
      name: group.name,
      pic: group.pic,
      createTime: String(group.createTime),
      memberCount: String(group.members.size),
      bfJoinFriend: group.bfJoinFriend,
      groupMsgCancelTime: group.msgCancelTime,
      groupAliasName: group.aliasName,
    },
    bfAddress: group.bfAddress,
    right: isAdmin(bot) ? { ...ADMIN_RIGHT } : {},
    groupNotice: noticeShape(world, group),
    memberType: bot?.role ?? 'NORMAL',
    qrUrl: group.qrUrl,
    qrExpire: String(group.qrExpire),
  };
}

// === getGroups ===

export function getGroupsEntry(world: World, group: SimGroup): Record<string, unknown> {
  const bot = group.members.get(world.botUid);
  const admin = isAdmin(bot);
  return {
    id: group.id,
    hostId: group.hostId,
    name: group.name,
    pic: group.pic,
    groupAliasName: group.aliasName,
    memberCount: group.members.size,
    groupMsgCancelTime: group.msgCancelTime,
    memberType: MEMBER_TYPE_OF_ROLE[bot?.role ?? 'NORMAL'],
    qrExpire: group.qrExpire,
    qrUrl: group.qrUrl,
    bfShutup: group.bfShutup,
    bfGroupReadCancel: group.bfGroupReadCancel,
    bfJoinCheck: group.bfJoinCheck,
    bfJoinFriend: group.bfJoinFriend,
    bfAddress: group.bfAddress,
    groupNotice: noticeShape(world, group),
    bfPushNotice: admin,
    bfResetQrcode: false,
    bfUpdateData: admin,
    type: 'group',
  };
}

// === pushes (edition 68) ===

function pushUser(user: SimUser): Record<string, unknown> {
  const shown: Record<string, unknown> = { uid: String(user.uid), nickName: user.nickName, icon: user.icon };
  if (user.signature) shown.signature = user.signature;
  shown.identify = HIDDEN_IDENTIFY;
  shown.createTime = String(user.createTime);
  return shown;
}

function md5(text: string): string {
  return createHash('md5').update(text).digest('hex');
}

/** msgNew for a message, shaped like docs/msg.md (group) or docs/guide.md (friend). */
export function msgNewPush(world: World, message: SimMessage): PushFrame {
  const sender = world.user(message.senderUid);
  const isSelf = message.senderUid === world.botUid;
  if (message.chat === 'group') {
    const group = world.group(message.targetId);
    const member = group.members.get(sender.uid);
    const sendMember: Record<string, unknown> = {
      user: pushUser(sender),
      groupId: String(group.id),
      score: member?.score ?? '0',
    };
    if (member && member.role !== 'NORMAL') {
      sendMember.type = member.role;
      sendMember.right = { ...ADMIN_RIGHT };
    }
    return {
      operator: 'msgNew',
      data: {
        msgType: message.msgType,
        atUids: message.atUids ?? [],
        atUsers: [],
        links: [],
        sendUid: sender.uid,
        groupId: group.id,
        content: message.content,
        sendTime: message.time,
        msgId: message.msgId,
        sendMember,
        contentMd5: md5(message.content),
        groupName: group.name,
        sentOverTime: message.time,
        customMsgId: message.customMsgId,
        MsgID: message.msgId,
        UserID: sender.uid,
        isSelf,
        ChatType: message.chatType,
        chatType: message.chatType,
        id: group.id,
        name: group.name,
        readStatus: 1,
        time: message.time,
        type: 'group',
        user: pushUser(sender),
      },
    };
  }
  const friendId = message.targetId;
  return {
    operator: 'msgNew',
    data: {
      msgType: message.msgType,
      msgId: message.msgId,
      sendUid: sender.uid,
      receiveUid: isSelf ? friendId : world.botUid,
      content: message.content,
      sendTime: message.time,
      version: 6,
      contentMd5: md5(message.content),
      sendUser: { ...pushUser(sender), identify: sender.identify },
      customMsgId: message.customMsgId,
      MsgID: message.msgId,
      UserID: sender.uid,
      isSelf,
      ChatType: message.chatType,
      chatType: message.chatType,
      id: friendId,
      friendId,
      time: message.time,
      type: 'friend',
      user: { ...pushUser(sender), identify: sender.identify },
    },
  };
}

/** Text of the whole-group mute notification. */
export function shutupNotificationText(bfShutup: boolean): string {
  return bfShutup ? '管理员开启了全员禁言' : '管理员关闭了全员禁言';
}

/** The msgNew group notification that follows GroupUpdate op 11 (docs/guide.md). */
export function groupShutupPush(groupId: number, bfShutup: boolean, time: number): PushFrame & { operatorType: string } {
  return {
    operator: 'msgNew',
    operatorType: GROUP_NOTIFICATION_TYPES[0],
    data: {
      id: groupId,
      time,
      sendTime: time,
      type: 'group',
      targetId: 0,
      groupId,
      content: shutupNotificationText(bfShutup),
      operator: 'message',
      chatType: 50,
      msgType: 50,
      notificationType: GROUP_NOTIFICATION_TYPES[0],
      bfShutup,
    },
  };
}

/** msgListPropertyUpdate: the delivery result of one sent message (docs/msg.md). */
export function deliveryPush(message: SimMessage, delivered: boolean, time: number): PushFrame {
  const readStatus = delivered ? READ_STATUS.DELIVERED : READ_STATUS.FAILED;
  const updated = delivered
    ? { MsgID: message.msgId, readStatus, time: String(time), sendTime: String(message.time) }
    : { readStatus };
  return {
    operator: 'msgListPropertyUpdate',
    data: {
      id: message.targetId,
      type: message.chat,
      list: [{ customMsgId: message.customMsgId, updated }],
      readStatus,
    },
  };
}
