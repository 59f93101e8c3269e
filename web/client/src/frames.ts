/**
 * The frames of the Darkstar protocol and their bytes, both directions: what a client
 * sends ({@link ClientFrame}) and what a server sends ({@link ServerFrame}). Every frame is
 * a 4-byte big-endian length, a kind byte and the kind's fields; over WebSocket each binary
 * message carries one frame, length included. The book's protocol chapter documents every
 * byte; the vectors in `protocol/vectors/frames.json` pin them, for this module and for the
 * Rust crate alike.
 *
 * @module
 */

/** The newest protocol version this client speaks. */
export const PROTOCOL_VERSION = 1;

/** The four bytes that open a client's `Hello`. */
export const MAGIC = new Uint8Array([0x44, 0x4b, 0x53, 0x54]); // "DKST"

/** Length of a session's resume key. */
export const KEY_LEN = 16;

/** A frame from a client to a server. */
export type ClientFrame =
  | { kind: "Hello"; minVersion: number; maxVersion: number }
  | { kind: "Login"; name: string; password: string }
  | { kind: "Resume"; session: bigint; key: Uint8Array; received: bigint }
  | { kind: "Message"; seq: bigint; body: Uint8Array }
  | { kind: "ChannelMessage"; seq: bigint; channel: bigint; body: Uint8Array }
  | { kind: "Ack"; received: bigint }
  | { kind: "Logout" };

/** A frame from a server to a client. */
export type ServerFrame =
  | { kind: "Welcome"; version: number; maxFrame: number }
  | { kind: "LoginAccepted"; session: bigint; key: Uint8Array; resumeWindowMs: number }
  | { kind: "LoginRefused"; reason: string }
  | { kind: "Resumed"; handled: bigint }
  | { kind: "ResumeRefused"; reason: string }
  | { kind: "Message"; seq: bigint; body: Uint8Array }
  | { kind: "Joined"; seq: bigint; channel: bigint; name: string }
  | { kind: "Left"; seq: bigint; channel: bigint }
  | { kind: "ChannelMessage"; seq: bigint; channel: bigint; sender: bigint; body: Uint8Array }
  | { kind: "Ack"; handled: bigint }
  | { kind: "Disconnect"; reason: number; text: string }
  | { kind: "Redirect"; host: string; port: number }
  | { kind: "Relocate"; host: string; port: number; key: Uint8Array };

/** What was wrong with bytes that are not a frame. */
export type FrameErrorCode =
  | "too_large"
  | "empty"
  | "unknown_kind"
  | "truncated"
  | "trailing"
  | "bad_text"
  | "bad_value";

/** Bytes that are not a frame: what was wrong, and where. */
export class FrameError extends Error {
  /** What was wrong. */
  readonly code: FrameErrorCode;

  /** @param code what was wrong @param message where, for people */
  constructor(code: FrameErrorCode, message: string) {
    super(message);
    this.name = "FrameError";
    this.code = code;
  }
}

const CLIENT_KINDS = {
  Hello: 0x01,
  Login: 0x02,
  Resume: 0x03,
  Message: 0x04,
  ChannelMessage: 0x05,
  Ack: 0x06,
  Logout: 0x07,
} as const;

const SERVER_KINDS = {
  Welcome: 0x81,
  LoginAccepted: 0x82,
  LoginRefused: 0x83,
  Resumed: 0x84,
  ResumeRefused: 0x85,
  Message: 0x86,
  Joined: 0x87,
  Left: 0x88,
  ChannelMessage: 0x89,
  Ack: 0x8a,
  Disconnect: 0x8b,
  Redirect: 0x8c,
  Relocate: 0x8d,
} as const;

const utf8 = new TextEncoder();
const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/** Builds one frame: the length is filled in by {@link Writer.finish}. */
class Writer {
  private bytes: number[] = [0, 0, 0, 0];

  constructor(kind: number) {
    this.bytes.push(kind);
  }

  u8(v: number): this {
    this.bytes.push(v & 0xff);
    return this;
  }

  u16(v: number): this {
    this.bytes.push((v >>> 8) & 0xff, v & 0xff);
    return this;
  }

  u32(v: number): this {
    this.bytes.push((v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff);
    return this;
  }

  u64(v: bigint): this {
    if (v < 0n || v > 0xffff_ffff_ffff_ffffn) {
      throw new RangeError(`${v} is not a u64`);
    }
    for (let shift = 56n; shift >= 0n; shift -= 8n) {
      this.bytes.push(Number((v >> shift) & 0xffn));
    }
    return this;
  }

  raw(v: Uint8Array): this {
    for (const b of v) {
      this.bytes.push(b);
    }
    return this;
  }

  /** A u16 byte length, then UTF-8; text over 65,535 bytes is cut at a character boundary. */
  text(v: string): this {
    let encoded = utf8.encode(v);
    if (encoded.length > 0xffff) {
      let end = 0xffff;
      // Back to the start of a character: continuation bytes are 10xxxxxx.
      while (end > 0 && ((encoded[end] ?? 0) & 0xc0) === 0x80) {
        end -= 1;
      }
      encoded = encoded.subarray(0, end);
    }
    return this.u16(encoded.length).raw(encoded);
  }

  finish(): Uint8Array {
    const out = Uint8Array.from(this.bytes);
    new DataView(out.buffer).setUint32(0, out.length - 4);
    return out;
  }
}

/** Reads one frame's fields, naming the frame and field in errors. */
class Fields {
  private at = 0;

  constructor(
    private readonly frame: string,
    private readonly bytes: Uint8Array,
  ) {}

  private take(n: number, field: string): Uint8Array {
    if (this.bytes.length - this.at < n) {
      throw new FrameError("truncated", `frame ${this.frame} ends inside its field \`${field}\``);
    }
    const out = this.bytes.subarray(this.at, this.at + n);
    this.at += n;
    return out;
  }

  u8(field: string): number {
    return this.take(1, field)[0] ?? 0;
  }

  u16(field: string): number {
    const b = this.take(2, field);
    return ((b[0] ?? 0) << 8) | (b[1] ?? 0);
  }

  u32(field: string): number {
    const b = this.take(4, field);
    return new DataView(b.buffer, b.byteOffset, 4).getUint32(0);
  }

  u64(field: string): bigint {
    const b = this.take(8, field);
    return new DataView(b.buffer, b.byteOffset, 8).getBigUint64(0);
  }

  key(field: string): Uint8Array {
    return this.take(KEY_LEN, field).slice();
  }

  text(field: string): string {
    const len = this.u16(field);
    const bytes = this.take(len, field);
    try {
      return strictUtf8.decode(bytes);
    } catch {
      throw new FrameError("bad_text", `field \`${field}\` of frame ${this.frame} is not UTF-8`);
    }
  }

  /** Every byte left: the frame's last field. */
  body(): Uint8Array {
    const out = this.bytes.slice(this.at);
    this.at = this.bytes.length;
    return out;
  }

  invalid(field: string, why: string): FrameError {
    return new FrameError("bad_value", `field \`${field}\` of frame ${this.frame} is invalid: ${why}`);
  }

  end(): void {
    const extra = this.bytes.length - this.at;
    if (extra > 0) {
      throw new FrameError("trailing", `frame ${this.frame} has ${extra} bytes after its last field`);
    }
  }
}

/** A client frame's bytes, length prefix included. */
export function encodeClientFrame(frame: ClientFrame): Uint8Array {
  const w = new Writer(CLIENT_KINDS[frame.kind]);
  switch (frame.kind) {
    case "Hello":
      return w.raw(MAGIC).u16(frame.minVersion).u16(frame.maxVersion).finish();
    case "Login":
      return w.text(frame.name).text(frame.password).finish();
    case "Resume":
      return w.u64(frame.session).raw(checkKey(frame.key)).u64(frame.received).finish();
    case "Message":
      return w.u64(frame.seq).raw(frame.body).finish();
    case "ChannelMessage":
      return w.u64(frame.seq).u64(frame.channel).raw(frame.body).finish();
    case "Ack":
      return w.u64(frame.received).finish();
    case "Logout":
      return w.finish();
  }
}

/** A server frame's bytes, length prefix included. */
export function encodeServerFrame(frame: ServerFrame): Uint8Array {
  const w = new Writer(SERVER_KINDS[frame.kind]);
  switch (frame.kind) {
    case "Welcome":
      return w.u16(frame.version).u32(frame.maxFrame).finish();
    case "LoginAccepted":
      return w.u64(frame.session).raw(checkKey(frame.key)).u32(frame.resumeWindowMs).finish();
    case "LoginRefused":
      return w.text(frame.reason).finish();
    case "Resumed":
      return w.u64(frame.handled).finish();
    case "ResumeRefused":
      return w.text(frame.reason).finish();
    case "Message":
      return w.u64(frame.seq).raw(frame.body).finish();
    case "Joined":
      return w.u64(frame.seq).u64(frame.channel).text(frame.name).finish();
    case "Left":
      return w.u64(frame.seq).u64(frame.channel).finish();
    case "ChannelMessage":
      return w.u64(frame.seq).u64(frame.channel).u64(frame.sender).raw(frame.body).finish();
    case "Ack":
      return w.u64(frame.handled).finish();
    case "Disconnect":
      return w.u8(frame.reason).text(frame.text).finish();
    case "Redirect":
      return w.text(frame.host).u16(frame.port).finish();
    case "Relocate":
      return w.text(frame.host).u16(frame.port).raw(checkKey(frame.key)).finish();
  }
}

function checkKey(key: Uint8Array): Uint8Array {
  if (key.length !== KEY_LEN) {
    throw new RangeError(`a key is ${KEY_LEN} bytes, not ${key.length}`);
  }
  return key;
}

/**
 * The length of the frame that `bytes` starts with, checked against `maxFrame` from its
 * 4 length bytes alone, so a hostile length costs nothing; `null` while fewer than 4 bytes
 * are there.
 */
function frameLength(bytes: Uint8Array, maxFrame: number): number | null {
  if (bytes.length < 4) {
    return null;
  }
  const len = new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0);
  if (len === 0) {
    throw new FrameError("empty", "frame of length 0 has no kind byte");
  }
  if (len > maxFrame) {
    throw new FrameError("too_large", `frame of ${len} bytes is over the limit of ${maxFrame} bytes`);
  }
  return 4 + len;
}

/**
 * The frame `bytes` starts with, and what is left after it: a WebSocket message must hold
 * exactly one frame, which {@link checkExact} checks once the frame itself decoded (so
 * errors come in the Rust crate's order: the length, the kind, the fields, then bytes left).
 */
function exactly(bytes: Uint8Array, maxFrame: number): { kind: number; fields: Uint8Array; extra: number } {
  const total = frameLength(bytes, maxFrame);
  if (total === null || bytes.length < total) {
    throw new FrameError("truncated", "frame (message) ends inside its field `length`");
  }
  return { kind: bytes[4] ?? 0, fields: bytes.subarray(5, total), extra: bytes.length - total };
}

function checkExact(extra: number): void {
  if (extra > 0) {
    throw new FrameError("trailing", `frame (message) has ${extra} bytes after its last field`);
  }
}

/** Decodes `bytes` as exactly one server frame no longer than `maxFrame` after its length. */
export function decodeServerFrame(bytes: Uint8Array, maxFrame: number): ServerFrame {
  const { kind, fields, extra } = exactly(bytes, maxFrame);
  const name = Object.entries(SERVER_KINDS).find(([, k]) => k === kind)?.[0];
  if (name === undefined) {
    throw new FrameError("unknown_kind", `unknown frame kind 0x${kind.toString(16).padStart(2, "0")}`);
  }
  const f = new Fields(name, fields);
  let frame: ServerFrame;
  switch (name as ServerFrame["kind"]) {
    case "Welcome":
      frame = { kind: "Welcome", version: f.u16("version"), maxFrame: f.u32("max_frame") };
      break;
    case "LoginAccepted":
      frame = {
        kind: "LoginAccepted",
        session: f.u64("session"),
        key: f.key("key"),
        resumeWindowMs: f.u32("resume_window_ms"),
      };
      break;
    case "LoginRefused":
      frame = { kind: "LoginRefused", reason: f.text("reason") };
      break;
    case "Resumed":
      frame = { kind: "Resumed", handled: f.u64("handled") };
      break;
    case "ResumeRefused":
      frame = { kind: "ResumeRefused", reason: f.text("reason") };
      break;
    case "Message":
      frame = { kind: "Message", seq: f.u64("seq"), body: f.body() };
      break;
    case "Joined":
      frame = { kind: "Joined", seq: f.u64("seq"), channel: f.u64("channel"), name: f.text("name") };
      break;
    case "Left":
      frame = { kind: "Left", seq: f.u64("seq"), channel: f.u64("channel") };
      break;
    case "ChannelMessage":
      frame = {
        kind: "ChannelMessage",
        seq: f.u64("seq"),
        channel: f.u64("channel"),
        sender: f.u64("sender"),
        body: f.body(),
      };
      break;
    case "Ack":
      frame = { kind: "Ack", handled: f.u64("handled") };
      break;
    case "Disconnect":
      frame = { kind: "Disconnect", reason: f.u8("reason"), text: f.text("text") };
      break;
    case "Redirect":
      frame = { kind: "Redirect", host: f.text("host"), port: f.u16("port") };
      break;
    case "Relocate":
      frame = { kind: "Relocate", host: f.text("host"), port: f.u16("port"), key: f.key("key") };
      break;
  }
  f.end();
  checkExact(extra);
  return frame;
}

/**
 * Decodes `bytes` as exactly one client frame: what a server does. The client itself only
 * encodes these; tests and tools read them.
 */
export function decodeClientFrame(bytes: Uint8Array, maxFrame: number): ClientFrame {
  const { kind, fields, extra } = exactly(bytes, maxFrame);
  const name = Object.entries(CLIENT_KINDS).find(([, k]) => k === kind)?.[0];
  if (name === undefined) {
    throw new FrameError("unknown_kind", `unknown frame kind 0x${kind.toString(16).padStart(2, "0")}`);
  }
  const f = new Fields(name, fields);
  let frame: ClientFrame;
  switch (name as ClientFrame["kind"]) {
    case "Hello": {
      const magic = fieldsMagic(f);
      if (!magic.every((b, i) => b === MAGIC[i])) {
        throw f.invalid("magic", 'not a Darkstar client (expected "DKST")');
      }
      const minVersion = f.u16("min_version");
      const maxVersion = f.u16("max_version");
      if (minVersion > maxVersion) {
        throw f.invalid("min_version", "above max_version");
      }
      frame = { kind: "Hello", minVersion, maxVersion };
      break;
    }
    case "Login":
      frame = { kind: "Login", name: f.text("name"), password: f.text("password") };
      break;
    case "Resume":
      frame = { kind: "Resume", session: f.u64("session"), key: f.key("key"), received: f.u64("received") };
      break;
    case "Message":
      frame = { kind: "Message", seq: f.u64("seq"), body: f.body() };
      break;
    case "ChannelMessage":
      frame = { kind: "ChannelMessage", seq: f.u64("seq"), channel: f.u64("channel"), body: f.body() };
      break;
    case "Ack":
      frame = { kind: "Ack", received: f.u64("received") };
      break;
    case "Logout":
      frame = { kind: "Logout" };
      break;
  }
  f.end();
  checkExact(extra);
  return frame;
}

function fieldsMagic(f: Fields): Uint8Array {
  return Uint8Array.of(f.u8("magic"), f.u8("magic"), f.u8("magic"), f.u8("magic"));
}

/** The sequence number of a server frame that carries game data, which the client acknowledges. */
export function dataSeq(frame: ServerFrame): bigint | null {
  switch (frame.kind) {
    case "Message":
    case "Joined":
    case "Left":
    case "ChannelMessage":
      return frame.seq;
    default:
      return null;
  }
}
