use darkstar_sdk::prelude::*;
use darkstar_sdk::rkyv;

// A wrapper of the game's own, which says nothing of what it stores.
pub struct Seconds;

impl rkyv::with::ArchiveWith<std::time::Duration> for Seconds {
    type Archived = rkyv::Archived<u64>;
    type Resolver = ();

    fn resolve_with(field: &std::time::Duration, _: (), out: rkyv::Place<Self::Archived>) {
        out.write(rkyv::Archived::<u64>::from_native(field.as_secs()));
    }
}

impl<S: rkyv::rancor::Fallible + ?Sized> rkyv::with::SerializeWith<std::time::Duration, S>
    for Seconds
{
    fn serialize_with(_: &std::time::Duration, _: &mut S) -> Result<(), S::Error> {
        Ok(())
    }
}

impl<D: rkyv::rancor::Fallible + ?Sized>
    rkyv::with::DeserializeWith<rkyv::Archived<u64>, std::time::Duration, D> for Seconds
{
    fn deserialize_with(
        field: &rkyv::Archived<u64>,
        _: &mut D,
    ) -> Result<std::time::Duration, D::Error> {
        Ok(std::time::Duration::from_secs(field.to_native()))
    }
}

#[managed]
pub struct Timer {
    #[rkyv(with = Seconds)]
    pub left: std::time::Duration,
}

fn main() {}
