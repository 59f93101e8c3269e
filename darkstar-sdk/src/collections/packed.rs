//! `Packed`: a sequence of byte strings in two vectors, the storage of every node's keys,
//! values and items.
//!
//! A node holding its entries as `Vec<Vec<u8>>` would cost one allocation per entry each
//! time it is opened for writing, and one archived vector per entry to validate each time
//! it is read. `Packed` keeps all the bytes in one vector and the end offset of each string
//! in another, so a node of 64 entries is two allocations and two checks, and its archived
//! form is searched in place.

use std::cmp::Ordering;
use std::ops::Range;

/// A sequence of byte strings: `bytes` holds them one after another, `ends[i]` is where
/// string `i` ends. Invariant: `ends` is non-decreasing and its last value is `bytes.len()`.
#[derive(
    Clone,
    Debug,
    Default,
    PartialEq,
    Eq,
    rkyv::Archive,
    rkyv::Serialize,
    rkyv::Deserialize,
    darkstar_macros::Layout,
)]
#[rkyv(crate = rkyv)]
pub(crate) struct Packed {
    bytes: Vec<u8>,
    ends: Vec<u32>,
}

/// Offset `n` as stored; nodes are kept far below 4 GiB.
fn offset(n: usize) -> u32 {
    u32::try_from(n).expect("a collection node holds less than 4 GiB")
}

/// Binary search of `key` among `len` sorted strings read by `get`, in byte order: the
/// index of an equal string, or where `key` would be inserted.
fn search<'a>(len: usize, get: impl Fn(usize) -> &'a [u8], key: &[u8]) -> Result<usize, usize> {
    let (mut lo, mut hi) = (0, len);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        match get(mid).cmp(key) {
            Ordering::Less => lo = mid + 1,
            Ordering::Greater => hi = mid,
            Ordering::Equal => return Ok(mid),
        }
    }
    Err(lo)
}

impl Packed {
    /// The number of strings.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// The total length of the strings, in bytes.
    pub fn byte_len(&self) -> usize {
        self.bytes.len()
    }

    fn span(&self, i: usize) -> Range<usize> {
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        start..self.ends[i] as usize
    }

    /// String `i`.
    pub fn get(&self, i: usize) -> &[u8] {
        &self.bytes[self.span(i)]
    }

    /// The strings in order.
    pub fn iter(&self) -> impl Iterator<Item = &[u8]> + '_ {
        (0..self.len()).map(|i| self.get(i))
    }

    /// Appends `item`.
    pub fn push(&mut self, item: &[u8]) {
        self.bytes.extend_from_slice(item);
        self.ends.push(offset(self.bytes.len()));
    }

    /// Inserts `item` before string `i` (`i == len()` appends).
    pub fn insert(&mut self, i: usize, item: &[u8]) {
        let at = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        self.bytes.splice(at..at, item.iter().copied());
        let grow = offset(item.len());
        for end in &mut self.ends[i..] {
            *end += grow;
        }
        self.ends.insert(i, offset(at + item.len()));
    }

    /// Removes string `i` and returns it.
    pub fn remove(&mut self, i: usize) -> Vec<u8> {
        let span = self.span(i);
        let shrink = offset(span.len());
        let item: Vec<u8> = self.bytes.drain(span).collect();
        self.ends.remove(i);
        for end in &mut self.ends[i..] {
            *end -= shrink;
        }
        item
    }

    /// Replaces string `i` with `item` and returns the old one.
    pub fn replace(&mut self, i: usize, item: &[u8]) -> Vec<u8> {
        let span = self.span(i);
        let old: Vec<u8> = self
            .bytes
            .splice(span.clone(), item.iter().copied())
            .collect();
        let new_end = span.start + item.len();
        let delta = new_end as i64 - span.end as i64;
        for end in &mut self.ends[i..] {
            *end = offset((*end as i64 + delta) as usize);
        }
        old
    }

    /// Splits off the strings from `i` on and returns them.
    pub fn split_off(&mut self, i: usize) -> Packed {
        let at = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        let bytes = self.bytes.split_off(at);
        let ends = self.ends.split_off(i);
        let shift = offset(at);
        Packed {
            bytes,
            ends: ends.into_iter().map(|e| e - shift).collect(),
        }
    }

    /// Moves every string of `other` to the end of this sequence.
    pub fn append(&mut self, other: Packed) {
        let shift = offset(self.bytes.len());
        self.bytes.extend_from_slice(&other.bytes);
        self.ends.extend(other.ends.into_iter().map(|e| e + shift));
    }

    /// Whether the invariant holds (the ends are in order and cover the bytes exactly).
    #[cfg(test)]
    pub fn is_well_formed(&self) -> bool {
        self.ends.windows(2).all(|w| w[0] <= w[1])
            && self.ends.last().map_or(0, |&e| e as usize) == self.bytes.len()
    }
}

impl ArchivedPacked {
    /// The number of strings.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// The bytes of all the strings.
    pub fn byte_len(&self) -> usize {
        self.bytes.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// String `i`, in place. A stored sequence whose offsets are out of order reads as
    /// empty strings rather than panicking; [`is_well_formed`](Self::is_well_formed) tells.
    pub fn get(&self, i: usize) -> &[u8] {
        let start = if i == 0 {
            0
        } else {
            self.ends[i - 1].to_native() as usize
        };
        let end = self.ends[i].to_native() as usize;
        self.bytes.get(start..end).unwrap_or(&[])
    }

    /// The strings in order.
    pub fn iter(&self) -> impl Iterator<Item = &[u8]> + '_ {
        (0..self.len()).map(|i| self.get(i))
    }

    /// Binary search for `key`, the strings being sorted.
    pub fn search(&self, key: &[u8]) -> Result<usize, usize> {
        search(self.len(), |i| self.get(i), key)
    }

    /// Whether the stored offsets are in order and cover the bytes exactly.
    pub fn is_well_formed(&self) -> bool {
        let ends: Vec<u32> = self.ends.iter().map(|e| e.to_native()).collect();
        ends.windows(2).all(|w| w[0] <= w[1])
            && ends.last().map_or(0, |&e| e as usize) == self.bytes.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strings(p: &Packed) -> Vec<Vec<u8>> {
        p.iter().map(<[u8]>::to_vec).collect()
    }

    #[test]
    fn edits_keep_the_offsets() {
        let mut p = Packed::default();
        p.push(b"bb");
        p.insert(0, b"a");
        p.insert(2, b"cccc");
        p.insert(1, b"");
        assert_eq!(strings(&p), [&b"a"[..], b"", b"bb", b"cccc"]);
        assert!(p.is_well_formed());
        assert_eq!(p.replace(2, b"BBBBB"), b"bb");
        assert_eq!(p.remove(0), b"a");
        assert_eq!(strings(&p), [&b""[..], b"BBBBB", b"cccc"]);
        let right = p.split_off(1);
        assert_eq!(strings(&right), [&b"BBBBB"[..], b"cccc"]);
        assert!(p.is_well_formed() && right.is_well_formed());
        p.append(right);
        assert_eq!(strings(&p), [&b""[..], b"BBBBB", b"cccc"]);
        assert_eq!(p.byte_len(), 9);
        assert!(p.is_well_formed());
    }

    #[test]
    fn searches_in_place() {
        let mut p = Packed::default();
        for s in [&b"ant"[..], b"bee", b"cat"] {
            p.push(s);
        }
        let bytes = rkyv::to_bytes::<rkyv::rancor::Error>(&p).unwrap();
        let a = rkyv::access::<ArchivedPacked, rkyv::rancor::Error>(&bytes).unwrap();
        assert_eq!(a.search(b"bee"), Ok(1));
        assert_eq!(a.search(b"b"), Err(1));
        assert_eq!(a.search(b"dog"), Err(3));
        assert_eq!(a.get(2), b"cat");
        assert!(a.is_well_formed());
        assert_eq!(a.search(b"aardvark"), Err(0));
    }
}
