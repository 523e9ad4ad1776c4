/**
 * The embedded bridge simulator: a stateful fake of the chat bridge that speaks
 * PROTOCOL.md over a real WebSocket. The daemon's default target, the demo's engine and
 * the integration tests' peer.
 */

// === The simulator ===
export { BridgeSimulator, DEFAULT_API_URL } from './server';
export type { BridgeSimulatorOptions, InjectMessageInput, ReceivedFrame, SimLogger } from './server';
export type { RecordedFrame, FrameDirection } from './record';

// === Faults ===
export { FaultPlan, NO_FAULTS, mulberry32 } from './faults';
export type { FaultAction, FaultDecision, FaultRates, Random, ScriptedFault } from './faults';

// === The world ===
export { World, BOT_UID, MEMBER_TYPE_OF_ROLE } from './world';
export type {
  DeliveryStatus,
  FriendRequestInput,
  FriendRequestState,
  GroupInput,
  MemberInput,
  MemberRole,
  MessageInput,
  SimContact,
  SimFriendRequest,
  SimGroup,
  SimMember,
  SimMessage,
  SimNotice,
  SimUser,
  UserInput,
  WorldChange,
  WorldOptions,
  WorldSnapshot,
} from './world';

// === Errors ===
export { BUSY_ERROR, SIM_ERRORS, SimError, SimOptionError } from './errors';
export type { SimErrorKind } from './errors';
