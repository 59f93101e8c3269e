// In a browser page: the global WebSocket is used, and listeners feel like the DOM's.

// ANCHOR: browser
import { connect, DisconnectReason } from "../src/index.js";

export async function joinLobby(log: (line: string) => void): Promise<(line: string) => void> {
  const client = await connect(`ws://${location.hostname}:7491/`, {
    name: "ada",
    password: "correct horse battery staple",
    // Other nodes of a cluster, to resume through if this one goes away.
    fallbacks: ["ws://node-2.example:7491/"],
  });
  let room: bigint | undefined;
  client
    .on("joined", (e) => {
      room = e.channel;
      log(`* you are in ${e.name}`);
    })
    .on("channelMessage", (e) => log(e.text))
    .on("message", (e) => log(`(${e.text})`))
    .on("reconnecting", () => log("* reconnecting..."))
    .on("reconnected", () => log("* back"))
    .on("disconnected", (e) => {
      if (e.reason === DisconnectReason.LoggedInElsewhere) {
        log("* you logged in somewhere else");
      } else {
        log(`* disconnected: ${e.reasonName} (${e.text})`);
      }
    });
  // What the page calls with each line the player types.
  return (line: string) => {
    if (line.startsWith("/") || room === undefined) {
      void client.send(line);
    } else {
      void client.sendToChannel(room, line);
    }
  };
}
// ANCHOR_END: browser
