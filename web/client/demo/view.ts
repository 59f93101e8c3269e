/**
 * What the page shows: the status line, the log, and which form is on. Everything from
 * the server or a player goes in as text (`textContent`), never as HTML.
 *
 * @module
 */

/** What a log line is. */
export type LineKind =
  /** A channel message (a player's line, signed by the moderator, or the game's). */
  | "channel"
  /** A message from the game to this player: the welcome, `/who`, whispers, refusals. */
  | "message"
  /** A command the player typed, echoed. */
  | "command"
  /** Something the page says: rooms entered and left, the connection. */
  | "info"
  /** Something went wrong. */
  | "error";

/** The connection's state, as `#status[data-state]` shows it. */
export type Status =
  | { state: "signed-out"; text: string }
  | { state: "connecting"; url: string }
  | { state: "connected"; name: string; url: string }
  | { state: "reconnecting"; attempt: number }
  | { state: "disconnected"; reasonName: string; text: string };

/** Lines the log keeps; older ones go, so a long session does not grow the page forever. */
const MAX_LINES = 2000;

function element<T extends HTMLElement>(doc: Document, id: string, type: new () => T): T {
  const el = doc.getElementById(id);
  if (!(el instanceof type)) {
    throw new Error(`the page has no #${id} of the right kind: is index.html the demo's?`);
  }
  return el;
}

/** The page's elements, and the changes the chat makes to them. */
export class View {
  /** `#login-form`: name, password, and the button. */
  readonly loginForm: HTMLFormElement;
  /** `#name`, the account name. */
  readonly name: HTMLInputElement;
  /** `#password`. */
  readonly password: HTMLInputElement;
  /** `#say-form`, around the input line. */
  readonly sayForm: HTMLFormElement;
  /** `#input`, the line the player types. */
  readonly input: HTMLInputElement;
  /** `#logout`, which ends the session. */
  readonly logout: HTMLButtonElement;
  private readonly status: HTMLElement;
  private readonly chat: HTMLElement;
  private readonly room: HTMLElement;
  private readonly log: HTMLOListElement;

  /** Finds the elements in `doc` (index.html's). */
  constructor(private readonly doc: Document) {
    this.loginForm = element(doc, "login-form", HTMLFormElement);
    this.name = element(doc, "name", HTMLInputElement);
    this.password = element(doc, "password", HTMLInputElement);
    this.sayForm = element(doc, "say-form", HTMLFormElement);
    this.input = element(doc, "input", HTMLInputElement);
    this.logout = element(doc, "logout", HTMLButtonElement);
    this.status = element(doc, "status", HTMLElement);
    this.chat = element(doc, "chat", HTMLElement);
    this.room = element(doc, "room", HTMLElement);
    this.log = element(doc, "log", HTMLOListElement);
  }

  /** Adds a line to the log, with the channel it came on, if any. */
  line(kind: LineKind, text: string, channel?: string): void {
    const li = this.doc.createElement("li");
    li.dataset.kind = kind;
    if (channel !== undefined) {
      li.dataset.channel = channel;
      const where = this.doc.createElement("span");
      where.className = "where";
      where.textContent = channel;
      li.append(where);
    }
    const body = this.doc.createElement("span");
    body.className = "text";
    body.textContent = text;
    li.append(body);
    // Follow the end of the log unless the player scrolled up to read.
    const atEnd = this.log.scrollTop + this.log.clientHeight >= this.log.scrollHeight - 4;
    this.log.append(li);
    while (this.log.childElementCount > MAX_LINES) {
      this.log.firstElementChild?.remove();
    }
    if (atEnd) {
      this.log.scrollTop = this.log.scrollHeight;
    }
  }

  /** Shows `status` in the status line and its `data-state`. */
  setStatus(status: Status): void {
    const el = this.status;
    el.dataset.state = status.state;
    delete el.dataset.attempt;
    delete el.dataset.reason;
    switch (status.state) {
      case "signed-out":
        el.textContent = status.text;
        break;
      case "connecting":
        el.textContent = `connecting to ${status.url}…`;
        break;
      case "connected":
        el.textContent = `connected as ${status.name} to ${status.url}`;
        break;
      case "reconnecting":
        el.dataset.attempt = String(status.attempt);
        el.textContent = `reconnecting (attempt ${status.attempt})…`;
        break;
      case "disconnected":
        el.dataset.reason = status.reasonName;
        el.textContent = `disconnected: ${status.reasonName} (${status.text})`;
        break;
    }
  }

  /** Shows the room plain lines go to. */
  setRoom(name: string | undefined): void {
    this.room.textContent = name === undefined ? "in no channel" : `talking in ${name}`;
  }

  /** Switches between the login form and the chat; the log stays once shown. */
  showChat(on: boolean): void {
    this.loginForm.hidden = on;
    this.chat.hidden = false;
    this.input.disabled = !on;
    this.logout.disabled = !on;
    for (const button of this.sayForm.querySelectorAll("button[type=submit]")) {
      (button as HTMLButtonElement).disabled = !on;
    }
    if (on) {
      this.input.focus();
    } else {
      this.name.focus();
    }
  }

  /** Turns the login form off while a login is under way, and on again after. */
  setLoggingIn(busy: boolean): void {
    for (const el of this.loginForm.querySelectorAll("input, button")) {
      (el as HTMLInputElement | HTMLButtonElement).disabled = busy;
    }
  }
}
