/**
 * The bridge protocol: the client, its typed API, events and errors. Nothing here
 * imports the rest of rulebot.
 */

// === Commonly used: client, typed calls, events ===
export { BridgeClient, silentLogger, normaliseApiUrl } from './client';
export type {
  BridgeClientEvents,
  BridgeClientOptions,
  BridgeLogger,
  CallOptions,
  ClientMetrics,
  ConnectionState,
  DisconnectInfo,
  HeartbeatPolicy,
  ReadRetryPolicy,
  ReconnectPolicy,
  RequestOptions,
} from './client';
export { ChatApi, CustomMsgIdSource, toWireId } from './api';
export type {
  AnnouncedChange,
  ChatApiOptions,
  ChatTarget,
  Contact,
  ContactDetail,
  DeliveryOutcome,
  FriendRequest,
  FriendRequestAnswerOptions,
  Group,
  GroupDetail,
  GroupMember,
  OnlineStatus,
  RestartResult,
  SendOptions,
  SendResult,
  SendTextOptions,
  TextSendResult,
  UserInfo,
} from './api';
export type {
  DeliveryEvent,
  DeliveryReportEvent,
  GroupNotificationEvent,
  GroupNotificationType,
  GroupUpdateEvent,
  MessageEvent,
  PushEvent,
  RecallEvent,
  RecalledMessage,
  UnknownPushEvent,
} from './events';

// === Errors: branch on `code`, ask isTransient / mightHaveActed before retrying ===
export {
  BridgeArgumentError,
  BridgeDisconnectedError,
  BridgeError,
  BridgeTimeoutError,
  BridgeUnavailableError,
  ProtocolViolationError,
  isTransient,
  mightHaveActed,
} from './errors';

// === Wire format, for the simulator and for tools that speak the protocol directly ===
export * from './wire';
export { decodeServerFrame, encodeFrame } from './codec';
export type { AnswerFailure, DecodedAnswer, DecodedFrame, OutgoingFrame } from './codec';
export { parsePush } from './events';
export { idString } from './values';
export type { ParsePushOptions } from './events';
export { normaliseFriendRequest, normaliseGroup, normaliseGroupDetail, normaliseMember } from './api';

// === Internal stuff for experts: the transport seam ===
export { MAX_PAYLOAD_BYTES, createWsTransport, describeTransportError } from './transport';
export type { Transport, TransportFactory, TransportHandlers, TransportOptions } from './transport';
