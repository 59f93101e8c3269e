//! The cluster's placement table as etcd holds it, under `/<cluster>/placement`: a format
//! line, the node names, then one hex pair per slot (the owner's index in the names, `ff`
//! for none).
//!
//! ```text
//! darkstar-placement 1
//! nodes node-0 node-1 node-2
//! 000102000102...
//! ```

use etcd_client::Client;

const HEADER: &str = "darkstar-placement 1";
const NONE: u8 = u8::MAX;

/// Slots to nodes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PlacementTable {
    /// The node names the table indexes.
    pub nodes: Vec<String>,
    /// Per slot, an index into `nodes`, or 255 for none.
    pub owners: Vec<u8>,
}

impl PlacementTable {
    /// Reads the table's text.
    pub fn decode(text: &str) -> Result<PlacementTable, String> {
        let mut lines = text.lines();
        if lines.next() != Some(HEADER) {
            return Err(format!("the table does not start with {HEADER:?}"));
        }
        let nodes = match lines.next().and_then(|l| l.strip_prefix("nodes")) {
            Some(rest) => rest.split_whitespace().map(str::to_owned).collect(),
            None => return Err("the second line does not list the nodes".to_owned()),
        };
        let hex = lines.next().unwrap_or_default();
        if hex.len() % 2 != 0 {
            return Err("the slot line has an odd number of hex digits".to_owned());
        }
        let owners = (0..hex.len() / 2)
            .map(|i| {
                u8::from_str_radix(&hex[i * 2..i * 2 + 2], 16)
                    .map_err(|_| format!("slot {i} has no hex owner"))
            })
            .collect::<Result<_, _>>()?;
        Ok(PlacementTable { nodes, owners })
    }

    /// How many slots `node` owns.
    pub fn slots_of(&self, node: &str) -> usize {
        match self.nodes.iter().position(|n| n == node) {
            Some(i) => self.owners.iter().filter(|&&o| o as usize == i).count(),
            None => 0,
        }
    }

    /// Slots without an owner.
    pub fn unowned(&self) -> usize {
        self.owners
            .iter()
            .filter(|&&o| o == NONE || o as usize >= self.nodes.len())
            .count()
    }
}

/// The etcd key of cluster `cluster`'s table.
pub fn placement_key(cluster: &str) -> String {
    format!("/{cluster}/placement")
}

/// Reads cluster `cluster`'s table; `Ok(None)` before the first one is written.
pub async fn read_placement(
    client: &mut Client,
    cluster: &str,
) -> Result<Option<PlacementTable>, String> {
    let reply = client
        .get(placement_key(cluster), None)
        .await
        .map_err(|e| format!("reading the placement table: {e}"))?;
    match reply.kvs().first() {
        Some(kv) => {
            let text = kv
                .value_str()
                .map_err(|e| format!("the placement table is not text: {e}"))?;
            PlacementTable::decode(text).map(Some)
        }
        None => Ok(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_table_reads() {
        let t = PlacementTable::decode("darkstar-placement 1\nnodes a b\n000101ff\n").unwrap();
        assert_eq!(t.slots_of("a"), 1);
        assert_eq!(t.slots_of("b"), 2);
        assert_eq!(t.slots_of("c"), 0);
        assert_eq!(t.unowned(), 1);
        assert!(PlacementTable::decode("darkstar-placement 2\n").is_err());
    }
}
