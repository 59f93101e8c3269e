//! The placement table of a cluster: which node owns each slot. It lives in etcd under
//! `/<cluster>/placement`, written by the meta-service's leader and watched by every
//! node. Inside a node, a slot's core comes from the node's own table, as on one machine.
//!
//! Stored as text: a format line, the node names, the addresses TCP clients reach them on
//! (in the same order, `-` for none published), one hex pair per slot (the owner's index
//! in the name list, `ff` for none), then the addresses WebSocket clients reach them on
//! (a line readers of the first tables skip, and the table's newer readers may miss).
//!
//! ```text
//! darkstar-placement 1
//! nodes node-0 node-1 node-2
//! addresses 10.0.0.5:7400 10.0.0.6:7400 10.0.0.7:7400
//! 000102000102...
//! ws-addresses 10.0.0.5:7401 - 10.0.0.7:7401
//! ```

use crate::placement::SLOTS;

const HEADER: &str = "darkstar-placement 1";
/// No owner.
pub(crate) const NONE: u8 = u8::MAX;
/// Most nodes a table names.
pub(crate) const MAX_NODES: usize = NONE as usize;

/// Slots to nodes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Table {
    pub nodes: Vec<String>,
    /// Where TCP clients reach each node (empty: not published).
    pub addresses: Vec<String>,
    /// Where WebSocket clients reach each node (empty: not published).
    pub ws_addresses: Vec<String>,
    /// Per slot, an index into `nodes`, or [`NONE`].
    pub owners: Vec<u8>,
}

impl Default for Table {
    fn default() -> Table {
        Table {
            nodes: Vec::new(),
            addresses: Vec::new(),
            ws_addresses: Vec::new(),
            owners: vec![NONE; SLOTS],
        }
    }
}

impl Table {
    /// The name of slot `slot`'s owner.
    pub fn owner(&self, slot: usize) -> Option<&str> {
        self.nodes
            .get(self.owners[slot] as usize)
            .map(String::as_str)
    }

    /// Where clients reach slot `slot`'s owner, over WebSocket if `websocket` (else TCP),
    /// if it published an address for that.
    pub fn address_of_owner(&self, slot: usize, websocket: bool) -> Option<&str> {
        let addresses = if websocket {
            &self.ws_addresses
        } else {
            &self.addresses
        };
        let a = addresses.get(self.owners[slot] as usize)?;
        (!a.is_empty()).then_some(a.as_str())
    }

    /// The slots `node` owns.
    pub fn slots_of(&self, node: &str) -> Vec<bool> {
        match self.nodes.iter().position(|n| n == node) {
            Some(i) => self.owners.iter().map(|&o| o as usize == i).collect(),
            None => vec![false; SLOTS],
        }
    }

    pub fn encode(&self) -> String {
        assert!(self.nodes.len() <= MAX_NODES && self.owners.len() == SLOTS);
        assert_eq!(self.addresses.len(), self.nodes.len());
        assert_eq!(self.ws_addresses.len(), self.nodes.len());
        let mut out = format!("{HEADER}\nnodes");
        for n in &self.nodes {
            out.push(' ');
            out.push_str(n);
        }
        out.push_str("\naddresses");
        for a in &self.addresses {
            out.push(' ');
            out.push_str(if a.is_empty() { "-" } else { a });
        }
        out.push('\n');
        for o in &self.owners {
            out.push_str(&format!("{o:02x}"));
        }
        out.push_str("\nws-addresses");
        for a in &self.ws_addresses {
            out.push(' ');
            out.push_str(if a.is_empty() { "-" } else { a });
        }
        out.push('\n');
        out
    }

    /// Reads a table; what a leader of another format or a hand edit left is refused.
    pub fn decode(text: &str) -> Result<Table, String> {
        let mut lines = text.lines();
        if lines.next() != Some(HEADER) {
            return Err(format!("the table does not start with {HEADER:?}"));
        }
        let nodes: Vec<String> = match lines.next().and_then(|l| l.strip_prefix("nodes")) {
            Some(rest) => rest.split_whitespace().map(str::to_owned).collect(),
            None => return Err("the second line does not list the nodes".to_owned()),
        };
        let list = |line: &str| -> Vec<String> {
            line.split_whitespace()
                .map(|a| {
                    if a == "-" {
                        String::new()
                    } else {
                        a.to_owned()
                    }
                })
                .collect()
        };
        let addresses = match lines.next().and_then(|l| l.strip_prefix("addresses")) {
            Some(rest) => list(rest),
            None => return Err("the third line does not list the addresses".to_owned()),
        };
        if addresses.len() != nodes.len() {
            return Err(format!(
                "the table lists {} addresses for {} nodes",
                addresses.len(),
                nodes.len()
            ));
        }
        let hex = lines.next().unwrap_or_default();
        if !hex.is_ascii() || hex.len() != SLOTS * 2 {
            return Err(format!(
                "the table has {} hex digits for {SLOTS} slots",
                hex.len()
            ));
        }
        let owners = (0..SLOTS)
            .map(|i| {
                let o = u8::from_str_radix(&hex[i * 2..i * 2 + 2], 16)
                    .map_err(|_| format!("slot {i} has no hex owner"))?;
                if o != NONE && o as usize >= nodes.len() {
                    return Err(format!("slot {i} names node {o}, of {}", nodes.len()));
                }
                Ok(o)
            })
            .collect::<Result<Vec<u8>, String>>()?;
        // Tables written before WebSocket addresses were published have no such line.
        let ws_addresses = match lines.next().and_then(|l| l.strip_prefix("ws-addresses")) {
            Some(rest) => list(rest),
            None => vec![String::new(); nodes.len()],
        };
        if ws_addresses.len() != nodes.len() {
            return Err(format!(
                "the table lists {} WebSocket addresses for {} nodes",
                ws_addresses.len(),
                nodes.len()
            ));
        }
        Ok(Table {
            nodes,
            addresses,
            ws_addresses,
            owners,
        })
    }
}

/// A live node, as its registration says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Member {
    pub name: String,
    /// Where its TCP clients connect (empty: not yet published).
    pub address: String,
    /// Where its WebSocket clients connect (empty: none).
    pub ws_address: String,
}

/// The next table for the live nodes `live`, of which those
/// named in `draining` are to hand their slots over: slots of live owners stay where they
/// are, slots without a live owner (or with a draining one) go to the live node with the
/// fewest, and then slots move from the fullest to the emptiest until no node holds more
/// than one above another. So a dead node's slots are spread over the others, and a new
/// node takes its share, while no other slot moves. A draining node stays in the table
/// with no slot, so that it sends its logins on to the owners; if every live node is
/// draining, none is.
pub(crate) fn assign(current: &Table, live: &[Member], draining: &[String]) -> Table {
    let mut live: Vec<Member> = live.to_vec();
    live.sort_by(|a, b| a.name.cmp(&b.name));
    live.dedup_by(|a, b| a.name == b.name);
    live.truncate(MAX_NODES);
    let nodes: Vec<String> = live.iter().map(|m| m.name.clone()).collect();
    let addresses: Vec<String> = live.iter().map(|m| m.address.clone()).collect();
    let ws_addresses: Vec<String> = live.iter().map(|m| m.ws_address.clone()).collect();
    if nodes.is_empty() {
        return Table::default();
    }
    let mut eligible: Vec<bool> = nodes.iter().map(|n| !draining.contains(n)).collect();
    if !eligible.contains(&true) {
        eligible = vec![true; nodes.len()];
    }
    let index = |name: &str| {
        nodes
            .iter()
            .position(|n| n == name)
            .filter(|&i| eligible[i])
    };
    let mut owners: Vec<u8> = (0..SLOTS)
        .map(|s| current.owner(s).and_then(index).map_or(NONE, |i| i as u8))
        .collect();
    let mut counts = vec![0usize; nodes.len()];
    for &o in &owners {
        if o != NONE {
            counts[o as usize] += 1;
        }
    }
    let candidates: Vec<usize> = (0..nodes.len()).filter(|&i| eligible[i]).collect();
    let emptiest = |counts: &[usize]| {
        *candidates
            .iter()
            .min_by_key(|&&i| counts[i])
            .expect("at least one eligible node")
    };
    for o in owners.iter_mut().filter(|o| **o == NONE) {
        let i = emptiest(&counts);
        *o = i as u8;
        counts[i] += 1;
    }
    loop {
        let full = *candidates
            .iter()
            .max_by_key(|&&i| counts[i])
            .expect("eligible nodes");
        let empty = emptiest(&counts);
        if counts[full] <= counts[empty] + 1 {
            break;
        }
        // The highest slot of the fullest node moves: any choice works, this one is stable.
        let slot = (0..SLOTS)
            .rev()
            .find(|&s| owners[s] as usize == full)
            .expect("the fullest node owns a slot");
        owners[slot] = empty as u8;
        counts[full] -= 1;
        counts[empty] += 1;
    }
    debug_assert!(owners.iter().all(|&o| o != NONE && eligible[o as usize]));
    Table {
        nodes,
        addresses,
        ws_addresses,
        owners,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(n: &[&str]) -> Vec<Member> {
        n.iter()
            .map(|s| Member {
                name: s.to_string(),
                address: format!("{s}.example:7400"),
                ws_address: if *s == "node-1" {
                    String::new()
                } else {
                    format!("{s}.example:7401")
                },
            })
            .collect()
    }

    fn counts(t: &Table) -> Vec<usize> {
        (0..t.nodes.len())
            .map(|i| t.owners.iter().filter(|&&o| o as usize == i).count())
            .collect()
    }

    #[test]
    fn slots_spread_evenly_and_only_a_share_moves() {
        let one = assign(&Table::default(), &names(&["a"]), &[]);
        assert_eq!(counts(&one), vec![SLOTS]);
        let three = assign(&one, &names(&["a", "b", "c"]), &[]);
        let c = counts(&three);
        assert!(
            c.iter().max().unwrap() - c.iter().min().unwrap() <= 1,
            "{c:?}"
        );
        // A node joining takes slots only from the others; none moves between old nodes.
        let four = assign(&three, &names(&["a", "b", "c", "d"]), &[]);
        for s in 0..SLOTS {
            let (before, after) = (three.owner(s).unwrap(), four.owner(s).unwrap());
            assert!(
                before == after || after == "d",
                "slot {s} moved {before} -> {after}"
            );
        }
        // A node dying hands out only its own slots.
        let two = assign(&three, &names(&["a", "c"]), &[]);
        for s in 0..SLOTS {
            if three.owner(s) != Some("b") {
                assert_eq!(three.owner(s), two.owner(s), "slot {s}");
            }
        }
        assert_eq!(counts(&two).iter().sum::<usize>(), SLOTS);
        assert_eq!(
            assign(&two, &names(&["a", "c"]), &[]),
            two,
            "a stable table stays"
        );
    }

    #[test]
    fn a_draining_node_keeps_its_place_and_hands_over_only_its_slots() {
        let three = assign(&Table::default(), &names(&["a", "b", "c"]), &[]);
        let drained = assign(&three, &names(&["a", "b", "c"]), &["b".to_owned()]);
        assert_eq!(drained.nodes, three.nodes, "b stays in the table");
        assert_eq!(counts(&drained)[1], 0, "b owns nothing");
        for s in 0..SLOTS {
            if three.owner(s) != Some("b") {
                assert_eq!(three.owner(s), drained.owner(s), "slot {s} did not move");
            }
        }
        let c = counts(&drained);
        assert!(c[0].abs_diff(c[2]) <= 1, "{c:?}");
        // Undrained, it takes its share back.
        let back = assign(&drained, &names(&["a", "b", "c"]), &[]);
        let c = counts(&back);
        assert!(
            c.iter().max().unwrap() - c.iter().min().unwrap() <= 1,
            "{c:?}"
        );
        // Every node draining is as none.
        let all: Vec<String> = ["a", "b", "c"].map(str::to_owned).to_vec();
        assert_eq!(assign(&three, &names(&["a", "b", "c"]), &all), three);
    }

    #[test]
    fn tables_survive_their_text_and_bad_text_is_refused() {
        let t = assign(&Table::default(), &names(&["node-0", "node-1"]), &[]);
        assert_eq!(Table::decode(&t.encode()).unwrap(), t);
        let slot_of = |node: &str| (0..SLOTS).find(|&s| t.owner(s) == Some(node)).unwrap();
        assert_eq!(
            t.address_of_owner(slot_of("node-0"), false),
            Some("node-0.example:7400")
        );
        assert_eq!(
            t.address_of_owner(slot_of("node-0"), true),
            Some("node-0.example:7401")
        );
        assert_eq!(
            t.address_of_owner(slot_of("node-1"), true),
            None,
            "no WebSocket"
        );
        // A table of the first format, without WebSocket addresses, still reads.
        let mut first = t.encode();
        first.truncate(first.find("\nws-addresses").unwrap() + 1);
        let old = Table::decode(&first).unwrap();
        assert_eq!(old.owners, t.owners);
        assert_eq!(old.address_of_owner(slot_of("node-0"), true), None);
        assert!(Table::decode("darkstar-placement 2\n").is_err());
        let mut bad = t.encode();
        let end = bad.find("\nws-addresses").unwrap();
        bad.replace_range(end - 2..end, "07");
        assert!(Table::decode(&bad).unwrap_err().contains("names node 7"));
    }
}
