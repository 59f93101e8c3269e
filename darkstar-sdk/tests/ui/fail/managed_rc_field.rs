use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;

use darkstar_sdk::prelude::*;

#[managed]
pub struct Guild {
    pub leader: Rc<String>,
    pub members: Vec<Arc<String>>,
    pub motto: RefCell<String>,
    pub ptr: *const u8,
    pub pet: Box<dyn std::fmt::Debug>,
    pub lock: std::sync::Mutex<u32>,
}

fn main() {}
