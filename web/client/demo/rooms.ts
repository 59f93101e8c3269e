/**
 * The channels the player is in, and the one plain lines go to: the room joined last, or
 * the lobby, which stays underneath every room (as the terminal client `chat-client` does).
 *
 * @module
 */

/** The lobby's channel name (the chat game's `LOBBY`). */
export const LOBBY = "lobby";

/** A channel's name as players know it: rooms are channels named `room.NAME`. */
export function shownName(channel: string): string {
  return channel.startsWith("room.") ? channel.slice("room.".length) : channel;
}

/** The channels joined, in the order lines should fall back through. */
export class Rooms {
  private readonly names = new Map<bigint, string>();
  /** Channel ids, the lobby first, the room joined last at the end. */
  private readonly joined: bigint[] = [];

  /** The session joined `channel`, named `name` on the server. */
  join(channel: bigint, name: string): void {
    this.names.set(channel, shownName(name));
    const at = this.joined.indexOf(channel);
    if (at >= 0) {
      this.joined.splice(at, 1);
    }
    if (name === LOBBY) {
      this.joined.unshift(channel);
    } else {
      this.joined.push(channel);
    }
  }

  /** The session left `channel`; returns its shown name. */
  leave(channel: bigint): string {
    const name = this.name(channel);
    this.names.delete(channel);
    const at = this.joined.indexOf(channel);
    if (at >= 0) {
      this.joined.splice(at, 1);
    }
    return name;
  }

  /** Where plain lines go now, if anywhere. */
  current(): bigint | undefined {
    return this.joined[this.joined.length - 1];
  }

  /** The shown name of `channel`, or `?` for one not joined. */
  name(channel: bigint): string {
    return this.names.get(channel) ?? "?";
  }
}
