//! The set of live segments, replaced as a whole when a segment is added or retired.

use std::sync::Arc;

use crate::segment::Segment;

/// Segments by id. Immutable once published: readers keep the `Arc` they started with,
/// which keeps every segment they may read mapped.
#[derive(Debug, Default)]
pub(crate) struct SegTable {
    base: u32,
    slots: Vec<Option<Arc<Segment>>>,
}

impl SegTable {
    /// A table holding `segments`.
    pub fn from_segments(segments: impl IntoIterator<Item = Arc<Segment>>) -> SegTable {
        let mut t = SegTable::default();
        for s in segments {
            t = t.with(s);
        }
        t
    }

    /// The segment with `id`.
    #[inline]
    pub fn get(&self, id: u32) -> Option<&Arc<Segment>> {
        let i = id.checked_sub(self.base)? as usize;
        self.slots.get(i)?.as_ref()
    }

    /// A copy of this table with `seg` added.
    pub fn with(&self, seg: Arc<Segment>) -> SegTable {
        let mut segs: Vec<Arc<Segment>> = self.iter().cloned().collect();
        assert!(
            segs.iter().all(|s| s.id != seg.id),
            "segment {} added twice",
            seg.id
        );
        segs.push(seg);
        Self::build(segs)
    }

    /// A copy of this table without segment `id`.
    pub fn without(&self, id: u32) -> SegTable {
        let segs: Vec<Arc<Segment>> = self.iter().filter(|s| s.id != id).cloned().collect();
        Self::build(segs)
    }

    fn build(mut segs: Vec<Arc<Segment>>) -> SegTable {
        segs.sort_by_key(|s| s.id);
        let Some(base) = segs.first().map(|s| s.id) else {
            return SegTable::default();
        };
        let span = (segs.last().unwrap().id - base + 1) as usize;
        let mut slots = vec![None; span];
        for s in segs {
            let i = (s.id - base) as usize;
            slots[i] = Some(s);
        }
        SegTable { base, slots }
    }

    /// Every segment, in id order.
    pub fn iter(&self) -> impl Iterator<Item = &Arc<Segment>> {
        self.slots.iter().flatten()
    }

    /// The smallest segment id, if any.
    pub fn oldest(&self) -> Option<u32> {
        self.iter().next().map(|s| s.id)
    }
}
