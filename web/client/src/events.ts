/**
 * What the server tells a client, as typed events, and the two ways to receive them: an
 * async iterator and listeners.
 *
 * @module
 */

const text = new TextDecoder();

/** A message from the game to this session. */
export interface MessageEvent {
  readonly type: "message";
  /** The message's bytes. */
  readonly body: Uint8Array;
  /** The message as UTF-8 text. */
  readonly text: string;
}

/** The session joined a channel. */
export interface JoinedEvent {
  readonly type: "joined";
  /** The channel's id, to send to it. */
  readonly channel: bigint;
  /** Its name. */
  readonly name: string;
}

/** The session left a channel. */
export interface LeftEvent {
  readonly type: "left";
  /** The channel's id. */
  readonly channel: bigint;
}

/** A message on a channel the session is in. */
export interface ChannelMessageEvent {
  readonly type: "channelMessage";
  /** The channel's id. */
  readonly channel: bigint;
  /** The id of the session that sent it (compare with `client.sessionId`), or 0 when the game did. */
  readonly sender: bigint;
  /** The message's bytes. */
  readonly body: Uint8Array;
  /** The message as UTF-8 text. */
  readonly text: string;
}

/** The connection dropped; the client is trying to resume the session (before each attempt). */
export interface ReconnectingEvent {
  readonly type: "reconnecting";
  /** Attempts so far, this one included. */
  readonly attempt: number;
}

/** The session was resumed on a new connection; nothing was lost. */
export interface ReconnectedEvent {
  readonly type: "reconnected";
  /** The server carrying the session now. */
  readonly url: string;
}

/**
 * The session is over: the last event. `reason` is the code the server sent, or one the
 * client chose: `expired` (10) when the session could not be resumed (the server refused
 * the resume, the window passed, or reconnecting is off), `protocol_error` (3) when the
 * server sent a frame the client did not expect.
 */
export interface DisconnectedEvent {
  readonly type: "disconnected";
  /** The reason code (see `DisconnectReason`). */
  readonly reason: number;
  /** Its name, such as `logged_out`. */
  readonly reasonName: string;
  /** Why, for people. */
  readonly text: string;
}

/** Something that happened to the session, in the order it happened. */
export type ClientEvent =
  | MessageEvent
  | JoinedEvent
  | LeftEvent
  | ChannelMessageEvent
  | ReconnectingEvent
  | ReconnectedEvent
  | DisconnectedEvent;

/** The event types, by name. */
export type ClientEventMap = { [E in ClientEvent as E["type"]]: E };

/** A listener of events of type `K`. */
export type Listener<K extends keyof ClientEventMap> = (event: ClientEventMap[K]) => void;

/** A message event for `body`. */
export function messageEvent(body: Uint8Array): MessageEvent {
  return {
    type: "message",
    body,
    get text() {
      return text.decode(body);
    },
  };
}

/** A channel message event for `body`. */
export function channelMessageEvent(channel: bigint, sender: bigint, body: Uint8Array): ChannelMessageEvent {
  return {
    type: "channelMessage",
    channel,
    sender,
    body,
    get text() {
      return text.decode(body);
    },
  };
}

/** Events kept for a receiver that has not come yet, at most. */
const UNCLAIMED = 10_000;

/**
 * Hands events to listeners and to async iterators. Events wait (in order) until someone
 * receives them: the first iterator or listener gets what came before it, so nothing that
 * arrives right after the login is missed.
 */
export class EventHub {
  private readonly listeners = new Map<string, Set<(event: ClientEvent) => void>>();
  private readonly backlog: ClientEvent[] = [];
  private readonly waiters: Array<(result: IteratorResult<ClientEvent>) => void> = [];
  private iterating = false;
  private ended = false;

  /** Adds a listener for events of `type`. */
  on<K extends keyof ClientEventMap>(type: K, listener: Listener<K>): void {
    let set = this.listeners.get(type);
    if (set === undefined) {
      set = new Set();
      this.listeners.set(type, set);
    }
    const l = listener as (event: ClientEvent) => void;
    set.add(l);
    if (!this.iterating) {
      // The first receiver gets what came before it, in order, soon after it is added;
      // what comes meanwhile waits behind that, so the order holds.
      const waiting = this.backlog.filter((e) => e.type === type);
      if (waiting.length === 0) {
        return;
      }
      this.backlog.splice(0, this.backlog.length, ...this.backlog.filter((e) => e.type !== type));
      this.replaying.set(l, waiting);
      queueMicrotask(() => {
        const queue = this.replaying.get(l) ?? [];
        // Drained in place: a listener's own work may emit more.
        while (queue.length > 0) {
          const e = queue.shift() as ClientEvent;
          this.call(l, e);
        }
        this.replaying.delete(l);
      });
    }
  }

  /** Listeners still being handed what came before them, with what waits for each. */
  private readonly replaying = new Map<(event: ClientEvent) => void, ClientEvent[]>();

  private call(listener: (event: ClientEvent) => void, event: ClientEvent): void {
    try {
      listener(event);
    } catch (e) {
      // A listener's failure is its own: the session and other listeners go on.
      queueMicrotask(() => {
        throw e;
      });
    }
  }

  /** Removes a listener. */
  off<K extends keyof ClientEventMap>(type: K, listener: Listener<K>): void {
    this.listeners.get(type)?.delete(listener as (event: ClientEvent) => void);
    this.replaying.delete(listener as (event: ClientEvent) => void);
  }

  /** Hands `event` out. */
  emit(event: ClientEvent): void {
    const listeners = this.listeners.get(event.type);
    for (const listener of listeners ?? []) {
      const queue = this.replaying.get(listener);
      if (queue !== undefined) {
        queue.push(event);
      } else {
        this.call(listener, event);
      }
    }
    const waiter = this.waiters.shift();
    if (waiter !== undefined) {
      waiter({ value: event, done: false });
    } else if (this.iterating || listeners === undefined || listeners.size === 0) {
      this.backlog.push(event);
      // Kept for a receiver that may never come (a program that listens to some types
      // only): bounded, the oldest dropped first. An iterator keeps everything.
      if (!this.iterating && this.backlog.length > UNCLAIMED) {
        this.backlog.shift();
      }
    }
    if (event.type === "disconnected") {
      this.ended = true;
      for (const w of this.waiters.splice(0)) {
        w({ value: undefined, done: true });
      }
    }
  }

  /** The events, in order, until the session is over. */
  iterate(): AsyncIterableIterator<ClientEvent> {
    this.iterating = true;
    const hub = this;
    return {
      next(): Promise<IteratorResult<ClientEvent>> {
        const event = hub.backlog.shift();
        if (event !== undefined) {
          return Promise.resolve({ value: event, done: false });
        }
        if (hub.ended) {
          return Promise.resolve({ value: undefined, done: true });
        }
        return new Promise((resolve) => hub.waiters.push(resolve));
      },
      return(): Promise<IteratorResult<ClientEvent>> {
        // Given up (a `break` out of `for await`): events are no longer kept for it.
        hub.iterating = false;
        for (const w of hub.waiters.splice(0)) {
          w({ value: undefined, done: true });
        }
        return Promise.resolve({ value: undefined, done: true });
      },
      [Symbol.asyncIterator]() {
        return this;
      },
    };
  }
}
