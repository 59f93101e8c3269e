//! What a test may change about how the server opens its store (the `simulated-disk`
//! feature): the disk it writes through, and a deliberately broken acknowledgment. Without
//! the feature there is nothing here to set.

use darkstar_storage::Options;

/// The store settings a [`ServerBuilder`](crate::ServerBuilder) passes on.
#[derive(Clone, Debug, Default)]
pub(crate) struct StoreDisk {
    #[cfg(feature = "simulated-disk")]
    pub disk: Option<darkstar_storage::sim::RecordingDisk>,
    #[cfg(feature = "simulated-disk")]
    pub acknowledge_before_sync: bool,
}

impl StoreDisk {
    /// Sets what this holds in the store's options.
    #[cfg_attr(not(feature = "simulated-disk"), allow(unused_variables))]
    pub fn apply(&self, options: &mut Options) {
        #[cfg(feature = "simulated-disk")]
        {
            options.disk = self.disk.clone();
            options.acknowledge_before_sync = self.acknowledge_before_sync;
        }
    }
}
