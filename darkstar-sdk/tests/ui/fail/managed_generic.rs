use darkstar_sdk::prelude::*;

#[managed]
pub struct Bag<'a, T> {
    pub items: Vec<T>,
    pub label: std::marker::PhantomData<&'a str>,
}

fn main() {}
