//! How a store is opened and run.

use std::time::Duration;

/// When a commit counts as acknowledged.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Durability {
    /// A commit is acknowledged once it is on disk (after the group commit's sync).
    /// After a crash every acknowledged commit is present. The default.
    Full,
    /// A commit is acknowledged as soon as it is visible; the log is synced every
    /// `interval`. A power loss or machine crash loses at most the commits since the last
    /// completed sync (one interval, plus the sync in progress), and never leaves a partial
    /// commit: recovery still yields a prefix of the commit order. A process crash loses
    /// nothing that reached the page cache.
    Relaxed {
        /// How often the log is synced.
        interval: Duration,
    },
}

/// Options for [`Store::open`](crate::Store::open).
#[derive(Clone, Debug)]
pub struct Options {
    /// Create the store when the directory is missing or empty. Default `true`.
    pub create: bool,
    /// Size of each segment file in bytes. A commit must fit in one segment.
    /// Default 64 MiB; between 64 KiB and 1 GiB, a multiple of 4096.
    pub segment_size: u32,
    /// When commits are acknowledged. Default [`Durability::Full`].
    pub durability: Durability,
    /// A sealed segment whose live bytes fall below this fraction of its used bytes is
    /// compacted: its live records are copied to the head of the log and the file deleted.
    /// Default 0.5, at most 0.95; 0 turns background compaction off (the tombstone sweep included);
    /// [`Store::compact`](crate::Store::compact) still works.
    pub compact_below: f64,
    /// Run background compaction. Default `true`; tests turn it off to compact by hand.
    pub background_compaction: bool,
    /// Open the store as the local replica of a cluster-wide commit log. Default `false`.
    ///
    /// A replica store accepts batches whose versions are chosen by the caller
    /// ([`Batch::set_version`](crate::Batch::set_version)), so that every node applying the
    /// same batches in the same order holds the same versions and validates reads alike,
    /// although each node's sequence numbers differ. A store created with `replica: true` is
    /// written in store format 2 and must always be opened as a replica; an embedded store
    /// (format 1) must never be. [`Store::open`](crate::Store::open) refuses either mix-up
    /// with [`OpenError::IsAReplica`](crate::OpenError::IsAReplica) or
    /// [`OpenError::NotAReplica`](crate::OpenError::NotAReplica).
    pub replica: bool,
    /// The disk to write through instead of the real one: a [`RecordingDisk`] for
    /// power-loss tests. Default `None` (the real disk). Only with the `simulated-disk`
    /// feature.
    ///
    /// [`RecordingDisk`]: crate::sim::RecordingDisk
    #[cfg(feature = "simulated-disk")]
    pub disk: Option<crate::sim::RecordingDisk>,
    /// A deliberately broken store, for tests that must catch it: every wait for
    /// durability ([`Store::durable`](crate::Store::durable),
    /// [`Store::acknowledged`](crate::Store::acknowledged) and their blocking forms) returns
    /// as soon as the commit is visible, before it is synced. Default `false`. Only with
    /// the `simulated-disk` feature.
    #[cfg(feature = "simulated-disk")]
    pub acknowledge_before_sync: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            create: true,
            segment_size: 64 << 20,
            durability: Durability::Full,
            compact_below: 0.5,
            background_compaction: true,
            replica: false,
            #[cfg(feature = "simulated-disk")]
            disk: None,
            #[cfg(feature = "simulated-disk")]
            acknowledge_before_sync: false,
        }
    }
}

impl Options {
    /// The disk these options name.
    pub(crate) fn store_disk(&self) -> crate::disk::StoreDisk {
        #[cfg(feature = "simulated-disk")]
        {
            match &self.disk {
                Some(d) => crate::disk::StoreDisk::Recording(d.clone()),
                None => crate::disk::StoreDisk::Os(crate::disk::OsDisk),
            }
        }
        #[cfg(not(feature = "simulated-disk"))]
        {
            crate::disk::OsDisk
        }
    }

    /// Whether waits for durability return before the sync (a test-only fault).
    #[inline]
    pub(crate) fn acknowledges_before_sync(&self) -> bool {
        #[cfg(feature = "simulated-disk")]
        {
            self.acknowledge_before_sync
        }
        #[cfg(not(feature = "simulated-disk"))]
        {
            false
        }
    }

    /// Checks the options; the error says which one is wrong.
    pub fn validate(&self) -> Result<(), String> {
        if !(64 << 10..=1 << 30).contains(&self.segment_size) || self.segment_size % 4096 != 0 {
            return Err(format!(
                "segment_size {} must be a multiple of 4096 between 64 KiB and 1 GiB",
                self.segment_size
            ));
        }
        let max = crate::compaction::MAX_THRESHOLD;
        if !(0.0..=max).contains(&self.compact_below) {
            return Err(format!(
                "compact_below {} must be between 0 and {max}",
                self.compact_below
            ));
        }
        if let Durability::Relaxed { interval } = self.durability {
            if interval.is_zero() {
                return Err("the relaxed durability interval must not be zero".into());
            }
        }
        Ok(())
    }
}
