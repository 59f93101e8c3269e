//! The cluster's placement table as etcd holds it, under `/<cluster>/placement`: a format
//! line, the node names, the addresses clients reach them on (`-` for none; tables
//! written before nodes published addresses lack the line), then one hex pair per slot
//! (the owner's index in the names, `ff` for none).
//!
//! ```text
//! darkstar-placement 1
//! nodes node-0 node-1 node-2
//! addresses 127.0.0.1:7401 127.0.0.1:7402 127.0.0.1:7403
//! 000102000102...
//! ```

use etcd_client::{Client, GetOptions};

const HEADER: &str = "darkstar-placement 1";
const NONE: u8 = u8::MAX;

/// Slots to nodes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PlacementTable {
    /// The node names the table indexes.
    pub nodes: Vec<String>,
    /// Where clients reach each node, in the same order (empty: none published).
    pub addresses: Vec<String>,
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
        let mut hex = lines.next().unwrap_or_default();
        let mut addresses = Vec::new();
        if let Some(rest) = hex.strip_prefix("addresses") {
            addresses = rest
                .split_whitespace()
                .map(|a| {
                    if a == "-" {
                        String::new()
                    } else {
                        a.to_owned()
                    }
                })
                .collect();
            hex = lines.next().unwrap_or_default();
        }
        if hex.len() % 2 != 0 {
            return Err("the slot line has an odd number of hex digits".to_owned());
        }
        let owners = (0..hex.len() / 2)
            .map(|i| {
                u8::from_str_radix(&hex[i * 2..i * 2 + 2], 16)
                    .map_err(|_| format!("slot {i} has no hex owner"))
            })
            .collect::<Result<_, _>>()?;
        Ok(PlacementTable {
            nodes,
            addresses,
            owners,
        })
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

/// The node that leads cluster `cluster`'s meta-service (and so writes the placement
/// table): the one whose lease holds the oldest key of the lock `/<cluster>/locks/meta`.
/// `Ok(None)` if no live node holds it.
pub async fn meta_leader(client: &mut Client, cluster: &str) -> Result<Option<String>, String> {
    let locks = client
        .get(
            format!("/{cluster}/locks/meta/"),
            Some(GetOptions::new().with_prefix()),
        )
        .await
        .map_err(|e| format!("reading the meta-service's lock: {e}"))?;
    let Some(holder) = locks.kvs().iter().min_by_key(|kv| kv.create_revision()) else {
        return Ok(None);
    };
    let nodes_prefix = format!("/{cluster}/nodes/");
    let nodes = client
        .get(nodes_prefix.clone(), Some(GetOptions::new().with_prefix()))
        .await
        .map_err(|e| format!("reading the cluster's nodes: {e}"))?;
    Ok(nodes
        .kvs()
        .iter()
        .find(|kv| kv.lease() == holder.lease())
        .and_then(|kv| {
            kv.key_str()
                .ok()?
                .strip_prefix(&nodes_prefix)
                .map(str::to_owned)
        }))
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
        let t = PlacementTable::decode(
            "darkstar-placement 1\nnodes a b\naddresses 127.0.0.1:1 -\n0001\n",
        )
        .unwrap();
        assert_eq!(t.addresses, vec!["127.0.0.1:1".to_owned(), String::new()]);
        assert_eq!((t.slots_of("a"), t.slots_of("b")), (1, 1));
    }
}
