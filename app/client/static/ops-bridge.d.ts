// Types for ops-bridge.js: every message of the stream (GET /api/ws), both ways, and the client.
//
// Each message interface has the name of its schema in the service's /asyncapi.json
// (components/schemas), and the same fields; the service's test suite checks that they match.
// The contract is shared/contract/websocket-api.md; this service's additions (event `id`, alert
// `status` and `resolved_at`, control messages, `auth`) are in its docs/protocol.md.

export type Topic = "incident" | "task" | "asset" | "alert" | "notification" | "metric";
/** Plural names are accepted too, as the contract writes them ("incidents"). */
export type TopicName = Topic | `${Topic}s`;
export type Action = "created" | "updated" | "deleted";
export type Severity = "critical" | "high" | "medium" | "low";
export type IncidentStatus = "open" | "in_progress" | "resolved" | "closed";
export type TaskStatus = "todo" | "in_progress" | "review" | "done";
export type TaskPriority = "low" | "medium" | "high";
export type RiskLevel = "critical" | "high" | "medium" | "low";
export type Environment = "production" | "staging" | "sandbox" | "dev";
export type AlertOperator = "greater_than" | "less_than" | "equals";
/** An addition to the contract: tells a resolution from another firing. */
export type AlertStatus = "firing" | "resolved" | "stale" | "expired";
export type NotificationType = "info" | "success" | "warning" | "error";
export type NotificationPriority = "low" | "normal" | "high" | "urgent";
/** ISO 8601, e.g. "2025-01-17T10:30:00.000Z". */
export type Timestamp = string;
export type RequestId = string | number;
export type OneOrMany = string | string[];
export type ErrorCode =
  | "INVALID_MESSAGE"
  | "UNKNOWN_ACTION"
  | "UNKNOWN_TOPIC"
  | "FORBIDDEN"
  | "RATE_LIMITED"
  | "RESUME_NOT_ALLOWED"
  | "RESUME_POSITION_UNKNOWN"
  | "RESUME_TOO_OLD"
  | "TOKEN_INVALID"
  | "UNAVAILABLE";

// Payloads (`data`) ---------------------------------------------------------------------------------------------

export interface IncidentData {
  id: string;
  jira_id: string;
  title: string;
  severity: Severity;
  status: IncidentStatus;
  squad: string;
  created_at: Timestamp;
  updated_at: Timestamp;
  assignee?: string;
  description?: string;
}

export interface TaskData {
  id: string;
  jira_id: string;
  title: string;
  status: TaskStatus;
  squad: string;
  created_at: Timestamp;
  updated_at: Timestamp;
  assignee?: string;
  /** A date, "2025-01-24". */
  due_date?: string;
  priority?: TaskPriority;
  description?: string;
}

export interface AssetData {
  id: string;
  hostname: string;
  asset_type: string;
  risk_level: RiskLevel;
  environment: Environment;
  created_at: Timestamp;
  updated_at: Timestamp;
  ip_address?: string;
  owner?: string;
}

export interface AlertData {
  id: string;
  metric: string;
  value: number;
  threshold: number;
  operator: AlertOperator;
  environment: string;
  severity: Severity;
  triggered_at: Timestamp;
  status: AlertStatus;
  resource_id?: string;
  resource_type?: string;
  /** Present when `status` is "resolved" (when the sender says it ended) or "expired" (when the service closed it). */
  resolved_at?: Timestamp;
  /** The sender's one-line summary, plain text. */
  summary?: string;
  /** The sender's description, plain text; long text is cut with a marker. */
  description?: string;
  /** The labels (or tags) the sender knows the alert by, plain text. */
  labels?: Record<string, string>;
}

export interface NotificationData {
  id: string;
  title: string;
  message: string;
  type: NotificationType;
  priority: NotificationPriority;
  /** A frontend route to navigate to. */
  actionUrl?: string;
  metadata?: Record<string, unknown>;
}

export interface MetricData {
  metric_name: string;
  value: number;
  /** The sample's own time. */
  timestamp: Timestamp;
  unit?: string;
  environment?: string;
  metadata?: Record<string, unknown>;
}

// Events (server to client): the contract's four fields plus `id`, the position in the event log ----------------

export interface IncidentEvent {
  id: number;
  type: "incident";
  action: Action;
  data: IncidentData;
  timestamp: Timestamp;
}

export interface TaskEvent {
  id: number;
  type: "task";
  action: Action;
  data: TaskData;
  timestamp: Timestamp;
}

export interface AssetEvent {
  id: number;
  type: "asset";
  action: Action;
  data: AssetData;
  timestamp: Timestamp;
}

export interface AlertEvent {
  id: number;
  type: "alert";
  action: "created" | "updated";
  data: AlertData;
  timestamp: Timestamp;
}

export interface NotificationEvent {
  id: number;
  type: "notification";
  action: "created";
  data: NotificationData;
  timestamp: Timestamp;
}

export interface MetricEvent {
  id: number;
  type: "metric";
  action: "updated";
  data: MetricData;
  /** When it was published. */
  timestamp: Timestamp;
}

export type EventMessage = IncidentEvent | TaskEvent | AssetEvent | AlertEvent | NotificationEvent | MetricEvent;

// Control messages (server to client) ---------------------------------------------------------------------------

export interface ResumeInfo {
  from: number;
  /** False: events after `from` up to `replay_from` were purged (RESUME_TOO_OLD): re-fetch. */
  complete: boolean;
  replay_from?: number;
}

export interface ConnectionInfo {
  connection_id: string;
  sub: string;
  roles: string[];
  /** ["*"]: every squad. */
  squads: string[];
  /** ["*"]: every environment. */
  environments: string[];
  /** The event-log position the stream starts after. */
  position: number;
  resume: ResumeInfo | null;
  heartbeat_interval: number;
}

export interface ConnectionEstablished {
  type: "connection";
  action: "established";
  data: ConnectionInfo;
  timestamp: Timestamp;
}

export interface TopicFilterInfo {
  squad?: string[];
  environment?: string[];
}

export interface SubscriptionInfo {
  original_message_id: RequestId | null;
  topics: Partial<Record<Topic, TopicFilterInfo>>;
  /** Exact: the events after it are filtered the new way. */
  position: number;
}

export interface SubscriptionAck {
  type: "ack";
  action: "subscribe" | "unsubscribe";
  data: SubscriptionInfo;
  timestamp: Timestamp;
}

export interface AuthInfo {
  original_message_id: RequestId | null;
  expires_at: Timestamp;
}

export interface AuthAck {
  type: "ack";
  action: "auth";
  data: AuthInfo;
  timestamp: Timestamp;
}

export interface PublishedInfo {
  original_message_id: RequestId | null;
  /** The stored notification's id; its message follows on the stream. */
  id: string;
}

export interface NotificationAck {
  type: "ack";
  action: "notification";
  data: PublishedInfo;
  timestamp: Timestamp;
}

export interface PongInfo {
  original_message_id: RequestId | null;
}

export interface Pong {
  type: "pong";
  action: "pong";
  data: PongInfo;
  timestamp: Timestamp;
}

export interface ErrorInfo {
  code: ErrorCode;
  message: string;
  original_message_id: RequestId | null;
}

export interface ErrorMessage {
  type: "error";
  action: "created";
  data: ErrorInfo;
  timestamp: Timestamp;
}

export type ControlMessage = ConnectionEstablished | SubscriptionAck | AuthAck | NotificationAck | Pong | ErrorMessage;
export type ServerMessage = EventMessage | ControlMessage;

// Requests (client to server) -----------------------------------------------------------------------------------

export interface Filters {
  squad?: OneOrMany | null;
  environment?: OneOrMany | null;
}

export interface SubscribeRequest {
  id?: RequestId | null;
  action: "subscribe";
  /** Absent: every topic. */
  topics?: TopicName | TopicName[] | null;
  filters?: Filters | null;
  /** Replay what came after this position first (only before the first event). */
  resume_from?: number | null;
}

export interface UnsubscribeRequest {
  id?: RequestId | null;
  action: "unsubscribe";
  topics: TopicName | TopicName[];
}

export interface PingRequest {
  id?: RequestId | null;
  action: "ping";
}

export interface AuthRequest {
  id?: RequestId | null;
  action: "auth";
  /** A fresh token for the same subject. */
  token: string;
}

export interface NotificationInput {
  title: string;
  message: string;
  type?: NotificationType;
  priority?: NotificationPriority;
  actionUrl?: string | null;
  metadata?: Record<string, unknown> | null;
}

export interface PublishNotification {
  id?: RequestId | null;
  type: "notification";
  action: "created";
  data: NotificationInput;
  timestamp?: string | null;
  /** Subs or e-mail addresses; absent: everyone allowed. */
  to?: string | string[] | null;
}

export type ClientMessage = SubscribeRequest | UnsubscribeRequest | PingRequest | AuthRequest | PublishNotification;

// The client ----------------------------------------------------------------------------------------------------

export declare const TOPICS: readonly Topic[];
/** The contract's schedule: 3, 6, 12, 24, 48 seconds. */
export declare const BACKOFF_SECONDS: readonly number[];
export declare const NOTIFICATIONS_KEPT: 50;
export declare const CLOSE_TOKEN_EXPIRED: 4001;

/** A token, or a function giving a fresh one (called on every connect and before expiry, for in-band refresh). */
export type TokenSource = string | (() => string | Promise<string>);

export interface StorageLike {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
  removeItem(key: string): void;
}

export interface ClientOptions {
  /** ws(s)://host/api/ws, or the page's own http(s) URL (same origin, /api/ws). Default: the page's location. */
  url?: string;
  /** Offered as the subprotocols `bearer, <token>`. Absent: the session cookie authenticates. */
  token?: TokenSource;
  /** Topics and filters to subscribe to on every connection (same as calling subscribe()). */
  topics?: TopicName[];
  filters?: Filters;
  /** Resume after this position; default: what storage kept, else the position of the first connection. */
  lastEventId?: number | null;
  /** Default BACKOFF_SECONDS; its length is the number of attempts. */
  backoffSeconds?: readonly number[];
  /** How long before `exp` a function token is asked for a fresh one. Default 60. */
  refreshBeforeSeconds?: number;
  /** Keeps the notifications and the resume point across reloads (localStorage, as the contract says). */
  storage?: StorageLike;
  storageKey?: string;
  /** A WebSocket implementation outside browsers. */
  WebSocket?: typeof WebSocket;
}

/**
 * idle: not started; connecting; open; reconnecting: waiting `delaySeconds` before attempt `attempt`;
 * offline: every attempt failed, connect() tries again; expired: the token expired (close 4001) and
 * there is no function to get a fresh one; closed: close() was called.
 */
export type ConnectionStatus = "idle" | "connecting" | "open" | "reconnecting" | "offline" | "expired" | "closed";

export interface ConnectionState {
  status: ConnectionStatus;
  attempt: number;
  maxAttempts: number;
  lastEventId: number | null;
  closeCode?: number | null;
  delaySeconds?: number;
  /** Date.now() value at which the next attempt starts. */
  retryAt?: number;
}

export interface StoredNotification extends NotificationData {
  /** The event's position. */
  eventId: number;
  timestamp: Timestamp;
  read: boolean;
}

export interface NotificationsChange {
  items: StoredNotification[];
  unread: number;
}

export interface Refetch {
  /** RESUME_TOO_OLD: events were purged; RESUME_POSITION_UNKNOWN: the event log was reset. */
  reason: "RESUME_TOO_OLD" | "RESUME_POSITION_UNKNOWN";
  message: string;
}

export interface ClientEvents {
  state: ConnectionState;
  established: ConnectionInfo;
  event: EventMessage;
  /** Re-fetch your data now: the stream cannot say everything that changed. */
  refetch: Refetch;
  notifications: NotificationsChange;
  /** The server took a fresh token (refreshToken(), or the token function before expiry). */
  auth: AuthInfo;
  error: OpsBridgeError;
}

export declare class OpsBridgeError extends Error {
  /** The protocol's error code, or DISCONNECTED, CLOSED, TOKEN_UNAVAILABLE from the client itself. */
  readonly code: ErrorCode | "DISCONNECTED" | "CLOSED" | "TOKEN_UNAVAILABLE";
  readonly detail: string;
  constructor(code: string, message: string);
}

export declare class OpsBridgeClient {
  constructor(options?: ClientOptions);
  readonly state: ConnectionState;
  readonly lastEventId: number | null;
  readonly connection: ConnectionInfo | null;
  readonly notifications: StoredNotification[];
  readonly unread: number;
  on<K extends keyof ClientEvents>(type: K, listener: (value: ClientEvents[K]) => void): () => void;
  connect(): void;
  close(): void;
  subscribe(topics?: TopicName[], filters?: Filters): Promise<SubscriptionAck>;
  unsubscribe(topics: TopicName[]): Promise<SubscriptionAck>;
  ping(): Promise<Pong>;
  refreshToken(token: string): Promise<AuthAck>;
  publish(data: NotificationInput, to?: string | string[]): Promise<NotificationAck>;
  markRead(id: string): void;
  markAllRead(): void;
  forget(): void;
}

export declare function streamUrl(url: string, lastEventId: number | null): string;
export declare function tokenExpiry(token: string): number | null;
/** The TanStack Query keys a message makes stale (the contract's "invalidates ... query cache"). */
export declare function invalidatedQueries(message: EventMessage): unknown[][];
