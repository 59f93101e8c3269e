/**
 * The shared frame vectors (`protocol/vectors/frames.json`, written by the Rust protocol
 * crate's tests), read as this client's frames.
 */

import { readFileSync } from "node:fs";

import type { ClientFrame, FrameErrorCode, ServerFrame } from "../src/frames.js";

/** A frame and its bytes. */
export interface ValidVector {
  name: string;
  direction: "client" | "server";
  bytes: Uint8Array;
  frame: ClientFrame | ServerFrame;
}

/** Bytes that are not a frame, and the error they must give. */
export interface InvalidVector {
  name: string;
  direction: "client" | "server";
  bytes: Uint8Array;
  error: FrameErrorCode;
}

/** Fields that are u64 (decimal strings in the file). */
const U64 = new Set(["session", "received", "seq", "channel", "sender", "handled"]);
/** Fields that are bytes (hex in the file). */
const BYTES = new Set(["key", "body"]);

export function unhex(hex: string): Uint8Array {
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) {
    out[i] = Number.parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  }
  return out;
}

export function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** `min_version` → `minVersion`. */
function camel(name: string): string {
  return name.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
}

function frameOf(json: Record<string, unknown>): ClientFrame | ServerFrame {
  const frame: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(json)) {
    if (U64.has(name)) {
      frame[name] = BigInt(value as string);
    } else if (BYTES.has(name)) {
      frame[name] = unhex(value as string);
    } else {
      frame[camel(name)] = value;
    }
  }
  return frame as ClientFrame | ServerFrame;
}

/** The vectors, and the frame limit the invalid ones are decoded under. */
export function loadVectors(): { maxFrame: number; valid: ValidVector[]; invalid: InvalidVector[] } {
  const url = new URL("../../../../protocol/vectors/frames.json", import.meta.url);
  const file = JSON.parse(readFileSync(url, "utf8")) as {
    max_frame: number;
    valid: Array<{ name: string; direction: "client" | "server"; hex: string; frame: Record<string, unknown> }>;
    invalid: Array<{ name: string; direction: "client" | "server"; hex: string; error: FrameErrorCode }>;
  };
  return {
    maxFrame: file.max_frame,
    valid: file.valid.map((v) => ({ name: v.name, direction: v.direction, bytes: unhex(v.hex), frame: frameOf(v.frame) })),
    invalid: file.invalid.map((v) => ({ name: v.name, direction: v.direction, bytes: unhex(v.hex), error: v.error })),
  };
}
