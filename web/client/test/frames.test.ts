/**
 * The frame codec against the vectors the Rust protocol crate writes and tests: the same
 * bytes, both directions, and the same refusals.
 */

import assert from "node:assert/strict";
import { test } from "node:test";

import {
  decodeClientFrame,
  decodeServerFrame,
  encodeClientFrame,
  encodeServerFrame,
  FrameError,
  type ClientFrame,
  type ServerFrame,
} from "../src/frames.js";
import { reasonName } from "../src/reasons.js";
import { urlAt } from "../src/client.js";
import { hex, loadVectors } from "./vectors.js";

const vectors = loadVectors();

test("there are vectors of every frame kind", () => {
  const kinds = new Set(vectors.valid.map((v) => `${v.direction}:${v.frame.kind}`));
  assert.equal(kinds.size, 7 + 13, [...kinds].join(", "));
  assert.ok(vectors.invalid.length >= 10);
});

for (const v of vectors.valid) {
  test(`${v.direction} frame "${v.name}" has the vector's bytes, both ways`, () => {
    const encoded =
      v.direction === "client" ? encodeClientFrame(v.frame as ClientFrame) : encodeServerFrame(v.frame as ServerFrame);
    assert.equal(hex(encoded), hex(v.bytes));
    const decoded = v.direction === "client" ? decodeClientFrame(v.bytes, 1 << 30) : decodeServerFrame(v.bytes, 1 << 30);
    assert.deepEqual(decoded, v.frame);
  });
}

for (const v of vectors.invalid) {
  test(`${v.direction} bytes "${v.name}" are refused as ${v.error}`, () => {
    const decode = v.direction === "client" ? decodeClientFrame : decodeServerFrame;
    assert.throws(
      () => decode(v.bytes, vectors.maxFrame),
      (e: unknown) => e instanceof FrameError && e.code === v.error && e.message.length > 0,
    );
  });
}

test("a frame's length is checked before its body is awaited", () => {
  const huge = new Uint8Array([0xff, 0xff, 0xff, 0xff, 0x86]);
  assert.throws(() => decodeServerFrame(huge, 1024), (e: unknown) => e instanceof FrameError && e.code === "too_large");
});

test("text longer than a frame can carry is cut at a character boundary", () => {
  const long = "é".repeat(40_000); // 80,000 bytes of two-byte characters
  const bytes = encodeClientFrame({ kind: "Login", name: long, password: "" });
  const frame = decodeClientFrame(bytes, 1 << 20);
  assert.equal(frame.kind, "Login");
  assert.ok(frame.kind === "Login" && frame.name === "é".repeat(32_767));
});

test("numbers out of a u64's range are refused when encoding", () => {
  assert.throws(() => encodeClientFrame({ kind: "Ack", received: -1n }), RangeError);
  assert.throws(() => encodeClientFrame({ kind: "Ack", received: 1n << 64n }), RangeError);
  assert.throws(() => encodeClientFrame({ kind: "Resume", session: 1n, key: new Uint8Array(3), received: 0n }), RangeError);
});

test("reason names are the server's", () => {
  assert.equal(reasonName(6), "too_slow");
  assert.equal(reasonName(13), "logged_in_elsewhere");
  assert.equal(reasonName(200), "other");
});

test("a redirect keeps the scheme and path", () => {
  assert.equal(urlAt("ws://a.example:7401/game", "b.example", 7402), "ws://b.example:7402/game");
  assert.equal(urlAt("wss://a.example/", "::1", 9000), "wss://[::1]:9000/");
});
