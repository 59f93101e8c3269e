// A chat bot in Node: logs in to the chat example, greets the lobby, answers "ping".
// Run the server with `cargo run -p darkstar-examples --bin chat -- --register-on-login true`.

// ANCHOR: node
import { WebSocket } from "ws"; // Node 20 has no global WebSocket; Node 22 and browsers do
import { connect, LoginRefusedError, type WebSocketConstructor } from "../src/index.js";

export async function pingBot(url = "ws://127.0.0.1:7491/"): Promise<void> {
  let client;
  try {
    client = await connect(url, {
      name: "ping-bot",
      password: "a password for the bot",
      WebSocket: WebSocket as unknown as WebSocketConstructor,
    });
  } catch (e) {
    if (e instanceof LoginRefusedError) {
      console.error(`the server said no: ${e.reason}`);
      return;
    }
    throw e; // ConnectionError, DisconnectedError (busy, full), ...
  }
  for await (const event of client.events()) {
    switch (event.type) {
      case "joined":
        // Resolves once the server has handled it (its task committed durably).
        await client.sendToChannel(event.channel, "hello, lobby");
        break;
      case "channelMessage":
        if (event.sender !== client.sessionId && event.text.endsWith(": ping")) {
          void client.sendToChannel(event.channel, "pong"); // awaiting is optional
        }
        break;
      case "reconnecting":
        console.log(`connection lost; resuming (attempt ${event.attempt})`);
        break;
      case "disconnected":
        console.log(`session over: ${event.reasonName}: ${event.text}`);
        break;
    }
  }
}
// ANCHOR_END: node
