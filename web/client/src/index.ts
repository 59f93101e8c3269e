/**
 * The TypeScript client of Darkstar for Rust game servers, for browsers and Node.
 *
 * ```ts
 * import { connect } from "@darkstar/client";
 *
 * const client = await connect("ws://127.0.0.1:7491/", { name: "ada", password: "secret" });
 * client.on("channelMessage", (e) => console.log(e.text));
 * await client.sendToChannel([...client.channels.keys()][0]!, "hello");
 * ```
 *
 * @module
 */

export { connect, Client, MAX_REDIRECTS, urlAt, type ConnectOptions, type Sender } from "./client.js";
export {
  ClosedError,
  ConnectionError,
  DarkstarError,
  DisconnectedError,
  LoginRefusedError,
  ProtocolError,
} from "./errors.js";
export type {
  ChannelMessageEvent,
  ClientEvent,
  ClientEventMap,
  DisconnectedEvent,
  JoinedEvent,
  LeftEvent,
  Listener,
  MessageEvent,
  ReconnectedEvent,
  ReconnectingEvent,
} from "./events.js";
export {
  decodeClientFrame,
  decodeServerFrame,
  encodeClientFrame,
  encodeServerFrame,
  FrameError,
  KEY_LEN,
  PROTOCOL_VERSION,
  type ClientFrame,
  type FrameErrorCode,
  type ServerFrame,
} from "./frames.js";
export { DisconnectReason, isTransient, reasonName, type DisconnectReasonCode } from "./reasons.js";
export type { WebSocketConstructor, WebSocketLike } from "./transport.js";
