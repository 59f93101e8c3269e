//! A bank: accounts and transfers between them. It is the reference workload of the
//! benchmarks: a transfer reads two accounts, checks funds, debits one and credits the
//! other, as one serializable, durable transaction.
//!
//! Clients reach it through sessions: every session gets a [`Teller`],
//! which answers [`TransferRequest`](request::TransferRequest)s.

use darkstar_sdk::prelude::*;

pub mod request;
pub mod teller;

use teller::Teller;

/// One account.
#[managed(name = "bank.Account")]
#[derive(Debug)]
pub struct Account {
    /// Balance in the smallest unit. Signed, so that a lost update or an overdraft would
    /// show as a negative balance instead of wrapping.
    pub balance: i64,
}

/// The directory of accounts, bound to the name `bank`.
#[managed(name = "bank.Bank")]
#[derive(Debug)]
pub struct Bank {
    /// Every account, in creation order.
    pub accounts: Vec<Ref<Account>>,
    /// The balance each account started with.
    pub initial_balance: i64,
}

/// Moves `amount` from one account to another if the first has the funds; does nothing
/// otherwise (a refused transfer is still a committed transaction).
#[task(name = "bank.transfer")]
pub fn transfer(
    ctx: &mut Context,
    from: Ref<Account>,
    to: Ref<Account>,
    amount: i64,
) -> TaskResult {
    move_funds(ctx, from, to, amount).map(drop)
}

/// The body of a transfer: moves `amount` if `from` has it and the accounts differ.
/// Returns whether it moved.
pub fn move_funds(
    ctx: &mut Context<'_>,
    from: Ref<Account>,
    to: Ref<Account>,
    amount: i64,
) -> Result<bool, TaskError> {
    if from == to || amount < 0 || ctx.get(from)?.balance() < amount {
        return Ok(false);
    }
    ctx.get_mut(from)?.balance -= amount;
    ctx.get_mut(to)?.balance += amount;
    Ok(true)
}

/// The app: `accounts` accounts of `initial_balance` each, created once per data store.
pub struct BankApp {
    /// Number of accounts.
    pub accounts: u32,
    /// Starting balance of each.
    pub initial_balance: i64,
}

impl BankApp {
    /// The reference workload's bank: 100,000 accounts of 10,000,000.
    pub fn reference() -> BankApp {
        BankApp {
            accounts: 100_000,
            initial_balance: 10_000_000,
        }
    }
}

impl App for BankApp {
    fn register(&self, types: &mut Types) {
        types
            .object::<Account>()
            .object::<Bank>()
            .task::<Transfer>()
            .session_listener::<Teller>();
    }

    /// Every login gets a teller. Who may log in is the server's authenticator's call.
    fn logged_in(&self, ctx: &mut Context<'_>, _session: Ref<Session>) -> Result<Login, TaskError> {
        Ok(Login::accept(Teller::open(ctx)?))
    }

    fn initialize(&self, ctx: &mut Context<'_>) -> TaskResult {
        let accounts = (0..self.accounts)
            .map(|_| {
                ctx.create(Account {
                    balance: self.initial_balance,
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let bank = ctx.create(Bank {
            accounts,
            initial_balance: self.initial_balance,
        })?;
        ctx.bind("bank", bank)
    }
}

/// The accounts, read through a server query.
pub fn accounts(ctx: &Context<'_>) -> Result<Vec<Ref<Account>>, TaskError> {
    let bank = ctx.get(ctx.lookup::<Bank>("bank")?)?;
    Ok(bank.accounts.iter().map(|a| a.get()).collect())
}

/// What an audit finds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Audit {
    /// Sum of every balance: transfers never change it.
    pub total: i128,
    /// What it must be: accounts times the initial balance.
    pub expected: i128,
    /// Accounts with a negative balance: transfers never overdraw, so always 0.
    pub negative: u64,
}

/// Sums every balance and counts negative ones.
pub fn audit(ctx: &Context<'_>) -> Result<Audit, TaskError> {
    let bank = ctx.get(ctx.lookup::<Bank>("bank")?)?;
    let mut total = 0i128;
    let mut negative = 0;
    for a in bank.accounts.iter() {
        let balance = ctx.get(a.get())?.balance();
        total += i128::from(balance);
        negative += u64::from(balance < 0);
    }
    Ok(Audit {
        total,
        expected: bank.accounts.len() as i128 * i128::from(bank.initial_balance()),
        negative,
    })
}
