/**
 * Push frames of the newer bridge edition, as its public documentation shows them
 * (docs/guide.md, docs/msg.md), with the annotations the docs put inside the JSON removed.
 */

const bot = {
  uid: '4008697',
  nickName: 'ID采集机器人🤖',
  icon: 'http://r11.aiolet.xyz/common/pic/202507/27/44eff667aad9eaa434a0af55d9cd4048.jpg',
  signature: '专业定制各类聊天软件自动化机器人',
  identify: '--',
  createTime: '1746527494000',
};

const host = {
  uid: '7237423',
  nickName: 'Pwgen',
  icon: 'http://r11.aiolet.xyz/common/pic/202509/06/d55d17285d3a7290c7dc953b25465722.jpg',
  identify: '--',
  createTime: '1746529904000',
};

const botMember = {
  user: bot,
  groupId: '389284',
  type: 'MANAGE',
  score: '1135394003000',
  right: { bfUpdateData: true, bfJoinCheck: true, bfPushNotice: true },
};

export const FRIEND_MESSAGE = {
  operator: 'msgNew',
  data: {
    msgType: 0,
    msgId: 2409462397,
    sendUid: 4008697,
    receiveUid: 7128348,
    content: 'Ffg',
    sendTime: 1766116051970,
    version: 6,
    contentMd5: 'ac716825f65e990167a446e9f1fd111d',
    sendUser: { ...bot, identify: 'k7m5tzmya2' },
    customMsgId: '80499052521',
    MsgID: 2409462397,
    UserID: 4008697,
    isSelf: false,
    ChatType: 0,
    chatType: 0,
    id: 4008697,
    friendId: 4008697,
    time: 1766116051970,
    type: 'friend',
    user: { ...bot, identify: 'k7m5tzmya2' },
  },
};

export const GROUP_MESSAGE = {
  operator: 'msgNew',
  data: {
    msgType: 0,
    atUids: [],
    atUsers: [],
    sendUid: 7237423,
    groupId: 389284,
    content: 'hhh',
    sendTime: 1766115963742,
    msgId: 4626337038,
    sendMember: { user: host, groupId: '389284', score: '807415200000' },
    contentMd5: 'a6dc56281eb1b9f670ab84ec6fceeb44',
    groupName: 'huimei、🤖群成员ID采集机器人',
    customMsgId: '20298293316',
    MsgID: 4626337038,
    UserID: 7237423,
    isSelf: false,
    ChatType: 0,
    chatType: 0,
    id: 389284,
    name: 'huimei、🤖群成员ID采集机器人',
    sendUserName: 'Pwgen：',
    time: 1766115963742,
    type: 'group',
    user: host,
  },
};

/** The bot's own text message, echoed back with isSelf. */
export const SELF_TEXT_MESSAGE = {
  operator: 'msgNew',
  data: {
    msgType: 0,
    atUids: [],
    atUsers: [],
    links: [],
    sendUid: 4008697,
    groupId: 389284,
    content: '[微笑]',
    sendTime: 1766282269132,
    msgId: 4688172503,
    sendMember: botMember,
    contentMd5: '252049bb117c5bd3c77cac9051f1d198',
    groupName: 'huimei',
    sentOverTime: 1766282269132,
    customMsgId: '70790767392',
    MsgID: 4688172503,
    UserID: 4008697,
    isSelf: true,
    ChatType: 0,
    chatType: 0,
    id: 389284,
    name: 'huimei',
    readStatus: 1,
    time: 1766282269132,
    type: 'group',
    user: bot,
  },
};

export const IMAGE_MESSAGE = {
  operator: 'msgNew',
  data: {
    ...SELF_TEXT_MESSAGE.data,
    msgType: 1,
    content:
      'http://r11.aiolet.xyz/chat/pic/202512/21/2e11f6748829b59e3f11f9e1f71ccc10.jpeg||http://r11.aiolet.xyz/chat/pic/202512/21/48b807c116ffe851c96d43897e9813eb.jpeg||20310||0',
    sendTime: 1766282182859,
    msgId: 4688146125,
    customMsgId: '10782894930',
    MsgID: 4688146125,
    ChatType: 1,
    chatType: 1,
    fileKey: 'fg187h7vj9wwsi42',
    time: 1766282182859,
  },
};

export const FILE_MESSAGE = {
  operator: 'msgNew',
  data: {
    ...SELF_TEXT_MESSAGE.data,
    msgType: 7,
    content: 'http://r11.aiolet.xyz/chat/file/202512/21/e158596ff68fd6a4669a7a7f02283a61.xml||ui.xml||11994',
    sendTime: 1766282345669,
    msgId: 4688196815,
    customMsgId: '10735110335',
    MsgID: 4688196815,
    ChatType: 7,
    chatType: 7,
    fileKey: 'rpon4f3vp33bzh7h',
    fileName: 'ui.xml',
    fileSize: '11994',
    size: '11994',
    time: 1766282345669,
  },
};

export function groupShutupAll(muted: boolean) {
  return {
    operator: 'msgNew',
    operatorType: 'groupShutupAll',
    data: {
      id: 389284,
      time: 1766116603039,
      sendTime: 1766116603039,
      type: 'group',
      targetId: 0,
      groupId: 389284,
      content: muted ? '管理员开启了全员禁言' : '管理员关闭了全员禁言',
      operator: 'message',
      chatType: 50,
      msgType: 50,
      notificationType: 'groupShutupAll',
      bfShutup: muted,
    },
  };
}

export const READ_CANCEL_NOTIFICATION = {
  operator: 'msgNew',
  operatorType: 'operatorReadCancel',
  data: {
    id: 389284,
    time: 1766116668353,
    sendTime: 1766116668353,
    type: 'group',
    targetId: 0,
    groupId: 389284,
    content: '「管理員設定了訊息已讀30秒後銷毀」',
    operator: 'message',
    chatType: 50,
    msgType: 50,
    notificationType: 'operatorReadCancel',
  },
};

export const DELIVERY_FAILED = {
  operator: 'msgListPropertyUpdate',
  data: { id: 389284, type: 'group', list: [{ customMsgId: '30984532587', updated: { readStatus: 0 } }], readStatus: 0 },
};

export const DELIVERY_DELIVERED = {
  operator: 'msgListPropertyUpdate',
  data: {
    id: 389284,
    type: 'group',
    list: [
      {
        customMsgId: '10441859254',
        updated: { MsgID: 4667081534, readStatus: 1, time: '1766222907461', sendTime: '1766222907461' },
      },
    ],
    readStatus: 1,
  },
};

export const GROUP_RENAMED = {
  operator: 'groupUpdate',
  data: { type: 'group', id: 389284, values: { name: '新的群名' } },
};

export const RECALL = {
  operator: 'recall_msg',
  data: { recallOneToOneMessages: [{ msgId: '2565552547', msgTargetId: '4008697', clearTime: '1773390253258' }] },
};
