/**
 * Every example frame of the seed document (the bridge's first published edition), as
 * the exact JSON text it shows: requests as written, answers as received.
 */

export interface SeedExample {
  title: string;
  request: string;
  /** Absent where the seed shows no answer. */
  answer?: string;
}

export const SEED_EXAMPLES: readonly SeedExample[] = [
  {
    title: 'UserInfo',
    request: String.raw`{"id":"1","type":"request","data":{"type":"UserInfo","url":"https://webbiz.angg1.com/user/userInfo"}}`,
    answer: String.raw`{"id":"1","type":"request","data":{"commonResult":{"errCode":200},"userInfo":{"uid":"4008697","nickName":"ID采集机器人🤖","icon":"http://r11.aiolet.xyz/common/pic/202507/27/44eff667aad9eaa434a0af55d9cd4048.jpg","signature":"专业定制各类聊天软件自动化机器人","identify":"k7m5tzmya2","createTime":"1746527494000"},"bfPassword":true,"privacy":4256,"signature":"专业定制各类聊天软件自动化机器人"}}`,
  },
  {
    title: 'ContactsList',
    request: String.raw`{"id":"2","type":"request","data":{"type":"ContactsList","url":"https://webbiz.angg1.com/contacts/contactsList","data":{}}}`,
    answer: String.raw`{"id":"2","type":"request","data":{"commonResult":{"errCode":200},"contactsList":[{"userInfo":{"uid":"5858052","nickName":"12🌽34🌽收cu商","friendRelation":{"bfFriend":true},"userOnOrOffline":{"uid":"5858052","createTime":"1765734028244","bfShow":true},"identify":"b6jo6y4p8h"},"letter":"#","msgCancelTime":30,"bfReadReceipt":true}],"count":36,"pageNum":1,"lastUpdateTime":"1766113547565"}}`,
  },
  {
    title: 'GroupReqList (error example)',
    request: String.raw`{"id":"error-test","type":"request","data":{"type":"GroupReqList","url":"https://webbiz.angg1.com/group/groupReqList","data":{"pageNum":0,"pageSize":100}}}`,
    answer: String.raw`{"id":"error-test","type":"request","error":{"errorCode":300,"errorDesc":"很抱歉,服务繁忙,请联系客服 #A0030"}}`,
  },
  {
    title: 'getGroups',
    request: String.raw`{"id":"webscoket消息id","type":"getGroups"}`,
    answer: String.raw`{"id":"1","type":"getGroups","data":[{"id":389284,"hostId":7237423,"name":"huimei","pic":"http://r22.aiolet.xyz/config/default_group_icon.png","groupAliasName":"k7d2dng8q8","memberCount":4,"groupMsgCancelTime":30,"memberType":1,"qrExpire":4070908800000,"qrUrl":"https://68chat.com?qrCode=CW3W6NMT&imQrCodeType=1&IdCode=DFA39FEAF43382DCDE35927E641A1D83&fromUid=4008697","bfShutup":false,"bfGroupReadCancel":false,"bfJoinCheck":true,"bfJoinFriend":true,"bfAddress":true,"groupNotice":{"editUser":{"user":{"uid":"7237423","nickName":"Pwgen","icon":"http://r11.aiolet.xyz/common/pic/202509/06/d55d17285d3a7290c7dc953b25465722.jpg","identify":"--","createTime":"1746529904000"},"groupId":"389284","score":"807415200000"},"notice":"asdd","releaseTime":"1766201544598","noticeId":"1043631"},"bfPushNotice":true,"bfResetQrcode":false,"bfUpdateData":true,"type":"group"}]}`,
  },
  {
    title: 'sendMsg to a friend',
    request: String.raw`{"id":"webscoket消息id","type":"sendMsg","data":{"id":7237423,"type":"friend","list":[{"type":"text","values":{"chatType":0,"content":"这里改成你的消息"}}],"quoteInfo":null}}`,
  },
  {
    title: 'sendMsg to a group',
    request: String.raw`{"id":"webscoket消息id","type":"sendMsg","data":{"id":389284,"type":"group","list":[{"type":"text","values":{"chatType":0,"content":"这里改成你的消息"}}],"quoteInfo":null}}`,
  },
  {
    title: 'getGroups (second request example)',
    request: String.raw`{"id":"getGroups-1","type":"getGroups"}`,
  },
  {
    title: 'GroupMemberList',
    request: String.raw`{"id":"1","type":"request","data":{"type":"GroupMemberList","protoType":"group","url":"https://webbiz.kngg3.com/group/groupMemberListV2","data":{"groupId":389284,"pageSize":1000,"pageNum":1}}}`,
    answer: String.raw`{"id":"1","type":"request","data":{"commonResult":{"errCode":200},"members":[{"user":{"uid":"7237423","nickName":"Pwgen","icon":"http://r11.aiolet.xyz/common/pic/202509/06/d55d17285d3a7290c7dc953b25465722.jpg","friendRelation":{"bfFriend":true},"identify":"--"},"groupId":"389284","score":"807415200000","right":{}}],"count":"4","lastUpdateTime":"1766114002864"}}`,
  },
  {
    title: 'ContactsDetail',
    request: String.raw`{"id":"1","type":"request","data":{"type":"ContactsDetail","url":"https://webbiz.angg1.com/contacts/contactsDetail","data":{"targetUid":7237423}}}`,
    answer: String.raw`{"id":"1","type":"request","data":{"commonResult":{"errCode":200},"contactsDetailBase":{"userInfo":{"uid":"7237423","nickName":"Pwgen","icon":"http://r11.aiolet.xyz/common/pic/202509/06/d55d17285d3a7290c7dc953b25465722.jpg","friendRelation":{"bfFriend":true},"userOnOrOffline":{"uid":"7237423","createTime":"1766242839299","bfShow":true},"identify":"02lx0l99q6","createTime":"1746529904000"},"letter":"P","msgCancelTime":30,"commonGroupNum":1,"bfReadReceipt":true,"bfIdSearch":true}}}`,
  },
  {
    title: 'ContactsApplyList',
    request: String.raw`{"id":"1","type":"request","data":{"type":"ContactsApplyList","url":"https://webbiz.angg1.com/contacts/contactsApplyList"}}`,
    answer: String.raw`{"id":"1","type":"request","data":{"commonResult":{"errCode":200},"recordList":[{"userInfo":{"uid":"5138518","nickName":"八方来财4","icon":"http://r11.aiolet.xyz/common/pic/202509/07/a77c66e78a2c23d817e5ab00ca326baf.jpg","identify":"am6gqf58go","createTime":"1757214075000"},"msg":"验证:我是八方来财4","modifyTime":"1759928661000","type":"IDENTIFY","bfIdSearch":true}]}}`,
  },
  {
    title: 'GroupMemberOnLineStatusList',
    request: String.raw`{"id":"1","type":"request","data":{"protoType":"group","type":"GroupMemberOnLineStatusList","url":"https://webbiz.angg1.com/group/groupMemberOnLineStatusList","data":{"groupId":389284,"uids":[7237423,4008697,4017572,7128348]}}}`,
    answer: String.raw`{"id":"1","type":"request","data":{"commonResult":{"errCode":200},"userOnLineStatusList":[{"uid":"7237423","createTime":"1766242839299","bfShow":true},{"uid":"4008697","online":true,"createTime":"1766280644006","bfShow":true},{"uid":"4017572","createTime":"1761010560062","bfShow":true},{"uid":"7128348","createTime":"1766141350379","bfShow":true}]}}`,
  },
  {
    title: 'GroupDetail',
    request: String.raw`{"id":"1","type":"request","data":{"type":"GroupDetail","url":"https://webbiz.angg1.com/group/groupDetail","data":{"groupId":389284}}}`,
    answer: String.raw`{"id":"1","type":"request","data":{"commonResult":{"errCode":200},"group":{"groupId":"389284","hostId":"7237423","name":"huimei","pic":"http://r22.aiolet.xyz/config/default_group_icon.png","createTime":"1753495200000","memberCount":"4","bfJoinFriend":true,"groupMsgCancelTime":30,"groupAliasName":"k7d2dng8q8"},"bfAddress":true,"right":{"bfUpdateData":true,"bfJoinCheck":true,"bfPushNotice":true},"groupNotice":{"editUser":{"user":{"uid":"7237423","nickName":"Pwgen","icon":"http://r11.aiolet.xyz/common/pic/202509/06/d55d17285d3a7290c7dc953b25465722.jpg","identify":"--","createTime":"1746529904000"},"groupId":"389284","score":"807415200000"},"notice":"asdd","releaseTime":"1766201544598","noticeId":"1043631"},"memberType":"MANAGE","qrUrl":"https://68chat.com?qrCode=CW3W6NMT&imQrCodeType=1&IdCode=DFA39FEAF43382DCDE35927E641A1D83&fromUid=4008697","qrExpire":"4070908800000"}}`,
  },
  {
    title: 'sendFile',
    request: String.raw`{"id":"1","type":"sendFile","data":{"file":"C:/Users/rtuge/Desktop/b.mp4","type":"group","id":389284}}`,
  },
  {
    title: 'getApiUrl',
    request: String.raw`{"id":"request-1","type":"getApiUrl"}`,
    answer: String.raw`{"id":"request-1","type":"getApiUrl","data":"https://webbiz.qika.xyz"}`,
  },
  {
    title: 'sendMsg with several lines',
    request: String.raw`{"id":"webscoket消息id","type":"sendMsg","data":{"id":389284,"type":"group","list":[{"type":"text","values":{"chatType":0,"content":"发送多行文本\\n123\\n1234"}}],"quoteInfo":null}}`,
  },
  {
    title: 'GroupUpdate op 12 (notice)',
    request: String.raw`{"id":"1","type":"request","data":{"type":"GroupUpdate","url":"https://webbiz.kngg3.com/group/groupUpdate","data":{"op":12,"groupParam":{"notice":"新的群通知","bfAll":true,"groupId":389284}}}}`,
    answer: String.raw`{"id":"1","type":"request","data":{"commonResult":{"errCode":200},"noticeId":"1048785"}}`,
  },
  {
    title: 'sendMsg chatType 8 (notice announcement)',
    request: String.raw`{"id":"webscoket消息id","type":"sendMsg","data":{"id":389284,"type":"group","list":[{"type":"text","values":{"chatType":8,"content":"新的群通知","bfAll":true}}]}}`,
  },
  {
    title: 'GroupUpdate op 11 (whole-group mute)',
    request: String.raw`{"id":"1","type":"request","data":{"type":"GroupUpdate","url":"https://webbiz.kngg3.com/group/groupUpdate","data":{"op":11,"groupParam":{"shutup":true,"groupId":389284}}}}`,
  },
  {
    title: 'sendMsg chatType 50 (mute announcement)',
    request: String.raw`{"id":"webscoket消息id","type":"sendMsg","data":{"id":389284,"type":"group","list":[{"type":"text","values":{"chatType":50,"content":"管理员开了全员禁言","bfShutup":true}}]}}`,
  },
  {
    title: 'GroupMemberShutup',
    request: String.raw`{"id":"1","type":"request","data":{"type":"GroupMemberShutup","url":"https://webbiz.kngg3.com/group/groupMemberShutup","data":{"targetUid":7128348,"shutupTime":3600,"groupId":441298}}}`,
  },
  {
    title: 'restartApp',
    request: String.raw`{"id":"1","type":"restartApp"}`,
  },
];
