/**
 * Every action kind and its handler. The type makes a missing kind a compile error:
 * adding a kind to the rule schema means adding its handler here.
 */
import { runAnswerFriendRequest } from './answer-friend-request';
import { runAudit } from './audit';
import { runChoose } from './choose';
import { runDelay } from './delay';
import { runForEach } from './for-each';
import { runGroupMute } from './group-mute';
import { runLog } from './log';
import { runMuteMember } from './mute-member';
import { runRead } from './read';
import { runRequest } from './request';
import { runRestart } from './restart';
import { runRotateNotice } from './rotate-notice';
import { runSend } from './send';
import { runSet } from './set';
import { runSetNotice } from './set-notice';
import { runStop } from './stop';
import type { ActionHandlers } from './types';

export const ACTION_HANDLERS = {
  send: runSend,
  request: runRequest,
  read: runRead,
  choose: runChoose,
  forEach: runForEach,
  delay: runDelay,
  set: runSet,
  log: runLog,
  stop: runStop,
  restart: runRestart,
  groupMute: runGroupMute,
  muteMember: runMuteMember,
  setNotice: runSetNotice,
  rotateNotice: runRotateNotice,
  audit: runAudit,
  answerFriendRequest: runAnswerFriendRequest,
} satisfies ActionHandlers;
