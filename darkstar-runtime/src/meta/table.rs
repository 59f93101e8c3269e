//! The placement table of a cluster: which node owns each slot. It lives in etcd under
//! `/<cluster>/placement`, written by the meta-service's leader and watched by every
//! node. Inside a node, a slot's core comes from the node's own table, as on one machine.
//!
//! Stored as text: a format line, the node names, the addresses clients reach them on (in
//! the same order, `-` for none published), then one hex pair per slot (the owner's index
//! in the name list, `ff` for none).
//!
//! ```text
//! darkstar-placement 1
//! nodes node-0 node-1 node-2
//! addresses 10.0.0.5:7400 10.0.0.6:7400 10.0.0.7:7400
//! 000102000102...
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
    /// Where clients reach each node (empty: not published).
    pub addresses: Vec<String>,
    /// Per slot, an index into `nodes`, or [`NONE`].
    pub owners: Vec<u8>,
}

impl Default for Table {
    fn default() -> Table {
        Table {
            nodes: Vec::new(),
            addresses: Vec::new(),
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

    /// Where clients reach slot `slot`'s owner, if it published an address.
    pub fn address_of_owner(&self, slot: usize) -> Option<&str> {
        let a = self.addresses.get(self.owners[slot] as usize)?;
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
        let addresses: Vec<String> = match lines.next().and_then(|l| l.strip_prefix("addresses")) {
            Some(rest) => rest
                .split_whitespace()
                .map(|a| {
                    if a == "-" {
                        String::new()
                    } else {
                        a.to_owned()
                    }
                })
                .collect(),
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
        Ok(Table {
            nodes,
            addresses,
            owners,
        })
    }
}

/// The next table for the live nodes `live` (name and published address), of which those
/// named in `draining` are to hand their slots over: slots of live owners stay where they
/// are, slots without a live owner (or with a draining one) go to the live node with the
/// fewest, and then slots move from the fullest to the emptiest until no node holds more
/// than one above another. So a dead node's slots are spread over the others, and a new
/// node takes its share, while no other slot moves. A draining node stays in the table
/// with no slot, so that it sends its logins on to the owners; if every live node is
/// draining, none is.
pub(crate) fn assign(current: &Table, live: &[(String, String)], draining: &[String]) -> Table {
    let mut live: Vec<(String, String)> = live.to_vec();
    live.sort();
    live.dedup_by(|a, b| a.0 == b.0);
    live.truncate(MAX_NODES);
    let (nodes, addresses): (Vec<String>, Vec<String>) = live.into_iter().unzip();
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
        owners,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(n: &[&str]) -> Vec<(String, String)> {
        n.iter()
            .map(|s| (s.to_string(), format!("{s}.example:7400")))
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
        assert_eq!(t.address_of_owner(0), Some("node-0.example:7400"));
        assert!(Table::decode("darkstar-placement 2\n").is_err());
        let mut bad = t.encode();
        bad.replace_range(bad.len() - 3..bad.len() - 1, "07");
        assert!(Table::decode(&bad).unwrap_err().contains("names node 7"));
    }
}
