//! Changing a game's data: version 1 of a game writes objects and stored tasks; version 2
//! (fields added, removed and retyped; a task's arguments changed; a type renamed and one
//! removed) starts on the same store and finds everything, migrated. A version 2 without
//! its migrations refuses to start and says why; a migration killed half way resumes.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use darkstar_runtime::{CatalogError, Config, ProblemKind, Server, StartError};
use darkstar_sdk::prelude::*;

/// Players version 1 creates.
const PLAYERS: u64 = 300;
/// Of which this many have a heal task stored.
const HEALED: u64 = 20;

/// Version 1 of the game.
mod v1 {
    use super::*;

    #[managed(name = "quest.Player")]
    pub struct Player {
        pub name: String,
        pub hp: u32,
        pub gold: u64,
    }

    #[managed(name = "quest.Pet")]
    pub struct Pet {
        pub owner: Ref<Player>,
    }

    #[managed(name = "quest.Guild")]
    pub struct Guild {
        pub members: Vec<Ref<Player>>,
    }

    /// Version 1 never heals: it puts the task off again and again, so that the task is
    /// still stored, with version 1's arguments, when version 2 starts.
    #[task(name = "quest.heal")]
    pub fn heal(ctx: &mut Context, player: Ref<Player>, amount: u32) -> TaskResult {
        ctx.schedule_after(Heal { player, amount }, Duration::from_millis(50))?;
        Ok(())
    }

    pub struct Game {
        pub players: u64,
    }

    impl App for Game {
        fn register(&self, types: &mut Types) {
            types
                .object::<Player>()
                .object::<Pet>()
                .object::<Guild>()
                .task::<Heal>();
        }

        fn initialize(&self, ctx: &mut Context<'_>) -> TaskResult {
            let mut members = Vec::new();
            for i in 0..self.players {
                let player = ctx.create(Player {
                    name: format!("player-{i}"),
                    hp: i as u32,
                    gold: i * 100,
                })?;
                ctx.bind(&format!("player/{i}"), player)?;
                members.push(player);
                if i < 3 {
                    ctx.create(Pet { owner: player })?;
                }
                if i < HEALED {
                    ctx.schedule(Heal { player, amount: 7 })?;
                }
            }
            let guild = ctx.create(Guild { members })?;
            ctx.bind("guild", guild)?;
            Ok(())
        }
    }
}

/// How many conversions of players may run before the next one blocks for ever (to kill a
/// server in the middle of a migration).
static BLOCK_AFTER: AtomicU64 = AtomicU64::new(u64::MAX);
/// Where a blocked conversion says so.
static BLOCKED_MARKER: std::sync::OnceLock<std::path::PathBuf> = std::sync::OnceLock::new();

/// Version 2: players retyped (`hp` wider), changed (`gold` gone, `level` and `note` new);
/// the heal task's arguments changed; guilds renamed to clans; pets removed.
mod v2 {
    use super::*;

    /// Version 1 of players, kept to read what version 1 stored.
    #[managed(name = "quest.Player", version = 1)]
    pub struct PlayerV1 {
        pub name: String,
        pub hp: u32,
        pub gold: u64,
    }

    #[managed(name = "quest.Player", version = 2, from = PlayerV1)]
    pub struct Player {
        pub name: String,
        pub hp: u64,
        pub level: u32,
        pub note: String,
    }

    impl From<PlayerV1> for Player {
        fn from(old: PlayerV1) -> Player {
            if BLOCK_AFTER.fetch_sub(1, Ordering::Relaxed) == 0 {
                if let Some(marker) = BLOCKED_MARKER.get() {
                    std::fs::write(marker, b"blocked").unwrap();
                }
                loop {
                    std::thread::park();
                }
            }
            Player {
                name: old.name,
                hp: u64::from(old.hp),
                level: (old.gold / 100) as u32,
                note: String::new(),
            }
        }
    }

    #[managed(name = "quest.Clan", aliases = ["quest.Guild"])]
    pub struct Clan {
        pub members: Vec<Ref<Player>>,
    }

    /// Version 1 of the heal task's arguments.
    #[task(name = "quest.heal", version = 1)]
    pub struct HealV1 {
        pub player: Ref<Player>,
        pub amount: u32,
    }

    #[task(name = "quest.heal", version = 2, from = HealV1)]
    pub fn heal(ctx: &mut Context, player: Ref<Player>, amount: u64, reason: String) -> TaskResult {
        let mut p = ctx.get_mut(player)?;
        p.hp += amount;
        p.note = reason;
        Ok(())
    }

    impl From<HealV1> for Heal {
        fn from(old: HealV1) -> Heal {
            Heal {
                player: old.player,
                amount: u64::from(old.amount),
                reason: "healed after the upgrade".to_owned(),
            }
        }
    }

    pub struct Game;

    impl App for Game {
        fn register(&self, types: &mut Types) {
            types
                .object::<Player>()
                .object::<Clan>()
                .task::<Heal>()
                .removed("quest.Pet");
        }
    }
}

/// Version 2 as it would be if its author forgot what changing data takes.
mod careless {
    use super::*;

    /// Changed without a new version.
    #[managed(name = "quest.Player")]
    pub struct Player {
        pub name: String,
        pub hp: u64,
        pub level: u32,
    }

    #[managed(name = "quest.Guild")]
    pub struct Guild {
        pub members: Vec<Ref<Player>>,
    }

    /// Arguments changed without a new version.
    #[task(name = "quest.heal")]
    pub fn heal(_ctx: &mut Context, player: Ref<Player>, amount: u64) -> TaskResult {
        let _ = (player, amount);
        Ok(())
    }

    pub struct Game;

    impl App for Game {
        fn register(&self, types: &mut Types) {
            types.object::<Player>().object::<Guild>().task::<Heal>();
        }
    }
}

/// Version 2 whose struct kept for version 1 is not what version 1 was.
mod misremembered {
    use super::*;

    #[managed(name = "quest.Player", version = 1)]
    pub struct PlayerV1 {
        pub name: String,
        pub hp: u64,
        pub gold: u64,
    }

    #[managed(name = "quest.Player", version = 2, from = PlayerV1)]
    pub struct Player {
        pub name: String,
        pub hp: u64,
    }

    impl From<PlayerV1> for Player {
        fn from(old: PlayerV1) -> Player {
            Player {
                name: old.name,
                hp: old.hp,
            }
        }
    }

    pub struct Game;

    impl App for Game {
        fn register(&self, types: &mut Types) {
            types
                .object::<Player>()
                .object::<super::v1::Pet>()
                .object::<super::v1::Guild>()
                .task::<super::v1::Heal>();
        }
    }
}

/// Version 2 with a new version number but no migration to it.
mod unchained {
    use super::*;

    #[managed(name = "quest.Player", version = 2)]
    pub struct Player {
        pub name: String,
        pub hp: u64,
    }

    pub struct Game;

    impl App for Game {
        fn register(&self, types: &mut Types) {
            types
                .object::<Player>()
                .object::<super::v1::Pet>()
                .object::<super::v1::Guild>()
                .task::<super::v1::Heal>();
        }
    }
}

fn config(dir: &Path) -> Config {
    Config {
        data_dir: dir.to_owned(),
        cores: 2,
        migration_batch: 10,
        ..Config::default()
    }
}

/// Writes version 1's world into `dir`.
fn write_version_1(dir: &Path) {
    let server = Server::builder(v1::Game { players: PLAYERS })
        .config(config(dir))
        .start()
        .unwrap();
    server.shutdown().unwrap();
}

/// Checks, on a running version 2, that every player and the clan read migrated, and waits
/// until every stored heal task has run with migrated arguments.
fn check_version_2(server: &Server) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let healed = server
            .query(|ctx| {
                let mut healed = 0;
                for i in 0..PLAYERS {
                    let r: Ref<v2::Player> = ctx.lookup(&format!("player/{i}"))?;
                    let p = ctx.get(r)?;
                    assert_eq!(p.name(), format!("player-{i}"));
                    assert_eq!(p.level(), i as u32, "level comes from the old gold");
                    if p.note() == "healed after the upgrade" {
                        assert!(i < HEALED, "only players with a stored heal change");
                        assert_eq!(p.hp(), i + 7);
                        healed += 1;
                    } else {
                        assert_eq!(p.hp(), i);
                    }
                }
                let clan: Ref<v2::Clan> = ctx.lookup("guild")?;
                assert_eq!(ctx.get(clan)?.members.len() as u64, PLAYERS);
                Ok(healed)
            })
            .unwrap();
        if healed == HEALED {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "only {healed} of {HEALED} stored heal tasks ran after the upgrade"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn version_2_reads_everything_version_1_stored_migrated() {
    let dir = tempfile::tempdir().unwrap();
    write_version_1(dir.path());
    let server = Server::builder(v2::Game)
        .config(config(dir.path()))
        .start()
        .unwrap();
    check_version_2(&server);
    server.shutdown().unwrap();

    // Pets were deleted, guilds renamed: nothing of either name is left to find.
    let counts = tags(dir.path());
    assert_eq!(counts.get("quest.Player@2"), Some(&PLAYERS), "{counts:?}");
    assert_eq!(counts.get("quest.Clan"), Some(&1), "{counts:?}");
    for gone in ["quest.Player", "quest.Pet", "quest.Guild"] {
        assert!(!counts.contains_key(gone), "{gone} left: {counts:?}");
    }

    // A second start has nothing to migrate and reads the same world.
    let server = Server::builder(v2::Game)
        .config(config(dir.path()))
        .start()
        .unwrap();
    check_version_2(&server);
    server.shutdown().unwrap();

    // Version 1 cannot read what version 2 wrote, and says so.
    let e = Server::builder(v1::Game { players: PLAYERS })
        .config(config(dir.path()))
        .start()
        .unwrap_err();
    let text = e.to_string();
    assert!(text.contains("newer than this build's version 1"), "{text}");
    assert!(
        text.contains("1 objects of `quest.Clan` are stored, the name a newer build gave this build's `quest.Guild`"),
        "{text}"
    );
}

#[test]
fn a_version_2_without_its_migrations_refuses_to_start_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    write_version_1(dir.path());
    let before = tags(dir.path());

    let e = Server::builder(careless::Game)
        .config(config(dir.path()))
        .start()
        .unwrap_err();
    let StartError::Catalog(CatalogError::Mismatch(problems)) = &e else {
        panic!("expected a catalog mismatch, got {e}");
    };
    let text = e.to_string();
    let player = problems.iter().find(|p| p.name == "quest.Player").unwrap();
    assert_eq!(player.count, PLAYERS);
    let ProblemKind::Changed { changes, .. } = &player.what else {
        panic!("{text}");
    };
    assert_eq!(
        changes,
        &[
            "field `hp` retyped: u32 → u64",
            "field `gold: u64` removed",
            "field `level: u32` added",
        ],
        "{text}"
    );
    let heal = problems.iter().find(|p| p.name == "quest.heal").unwrap();
    assert!(!heal.is_objects());
    assert_eq!(heal.count, HEALED);
    assert!(
        matches!(&heal.what, ProblemKind::Changed { changes, .. } if changes == &["field `amount` retyped: u32 → u64"]),
        "{text}"
    );
    let pet = problems.iter().find(|p| p.name == "quest.Pet").unwrap();
    assert_eq!((pet.count, &pet.what), (3, &ProblemKind::Removed));
    assert!(text.contains("version = 2, from = PlayerV1"), "{text}");
    assert!(text.contains("types.removed(\"quest.Pet\")"), "{text}");

    let e = Server::builder(unchained::Game)
        .config(config(dir.path()))
        .start()
        .unwrap_err();
    let text = e.to_string();
    assert!(
        text.contains("300 objects of `quest.Player` are stored at version 1, but this build's version 2 declares no migration from it"),
        "{text}"
    );

    let e = Server::builder(misremembered::Game)
        .config(config(dir.path()))
        .start()
        .unwrap_err();
    let text = e.to_string();
    assert!(
        text.contains("but this build's definition of version 1 does not match what was stored (field `hp` retyped: u32 → u64)"),
        "{text}"
    );

    // Nothing was changed: version 1 starts as before, and version 2 migrates it all.
    assert_eq!(tags(dir.path()), before);
    let server = Server::builder(v2::Game)
        .config(config(dir.path()))
        .start()
        .unwrap();
    check_version_2(&server);
    server.shutdown().unwrap();
}

/// The environment variable that makes `migration_child` a server to kill.
const CHILD_DIR: &str = "DARKSTAR_MIGRATION_CHILD_DIR";

/// Not a test on its own: run by `a_killed_migration_resumes_and_loses_nothing` as a child
/// process, it starts version 2 on the store it is given, whose migration blocks after a
/// while, for the parent to kill it there.
#[test]
fn migration_child() {
    let Ok(dir) = std::env::var(CHILD_DIR) else {
        return;
    };
    let dir = std::path::PathBuf::from(dir);
    BLOCKED_MARKER.set(dir.with_extension("blocked")).unwrap();
    BLOCK_AFTER.store(PLAYERS / 2, Ordering::Relaxed);
    let _ = Server::builder(v2::Game).config(config(&dir)).start();
    unreachable!("the migration blocks half way");
}

#[test]
fn a_killed_migration_resumes_and_loses_nothing() {
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("store");
    write_version_1(&dir);
    let marker = dir.with_extension("blocked");
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "migration_child",
            "--exact",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_DIR, &dir)
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(120);
    while !marker.exists() {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the migrating child exited early: {status}");
        }
        assert!(
            Instant::now() < deadline,
            "the migration never got half way"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    child.kill().unwrap();
    child.wait().unwrap();

    // Killed half way: some players migrated, the rest not yet.
    let counts = tags(&dir);
    let migrated = counts.get("quest.Player@2").copied().unwrap_or(0);
    let old = counts.get("quest.Player").copied().unwrap_or(0);
    assert!(migrated > 0 && old > 0, "{counts:?}");
    assert_eq!(migrated + old, PLAYERS, "{counts:?}");

    let server = Server::builder(v2::Game)
        .config(config(&dir))
        .start()
        .unwrap();
    check_version_2(&server);
    server.shutdown().unwrap();
}

/// How many objects and stored tasks the store in `dir` holds under each tag.
fn tags(dir: &Path) -> std::collections::BTreeMap<String, u64> {
    let store = darkstar_storage::Store::open(dir, darkstar_storage::Options::default()).unwrap();
    let snap = store.snapshot();
    let mut counts = std::collections::BTreeMap::new();
    for id in snap.object_ids() {
        let rec = snap.object(id).unwrap();
        *counts.entry(rec.type_name.to_owned()).or_default() += 1;
    }
    for id in snap.task_ids() {
        let rec = snap.task(id).unwrap();
        *counts.entry(format!("task {}", rec.type_name)).or_default() += 1;
    }
    drop(snap);
    store.close().unwrap();
    counts
}

/// Three versions of a score; the third also renames the type.
mod scores {
    use super::*;

    pub mod one {
        use super::*;

        #[managed(name = "quest.Score")]
        pub struct Score {
            pub points: u32,
        }
    }

    pub mod two {
        use super::*;

        #[managed(name = "quest.Score", version = 1)]
        pub struct ScoreV1 {
            pub points: u32,
        }

        #[managed(name = "quest.Score", version = 2, from = ScoreV1)]
        pub struct Score {
            pub points: u64,
        }

        impl From<ScoreV1> for Score {
            fn from(old: ScoreV1) -> Score {
                Score {
                    points: u64::from(old.points) * 10,
                }
            }
        }
    }

    pub mod three {
        use super::*;

        // The older versions take the new name: they are this type's versions.
        #[managed(name = "quest.Points", version = 1)]
        pub struct PointsV1 {
            pub points: u32,
        }

        #[managed(name = "quest.Points", version = 2, from = PointsV1)]
        pub struct PointsV2 {
            pub points: u64,
        }

        impl From<PointsV1> for PointsV2 {
            fn from(old: PointsV1) -> PointsV2 {
                PointsV2 {
                    points: u64::from(old.points) * 10,
                }
            }
        }

        #[managed(name = "quest.Points", version = 3, from = PointsV2, aliases = ["quest.Score"])]
        pub struct Points {
            pub points: u64,
            pub bonus: u32,
        }

        impl From<PointsV2> for Points {
            fn from(old: PointsV2) -> Points {
                Points {
                    points: old.points,
                    bonus: 1,
                }
            }
        }
    }

    /// A game with one managed type, `T`, and a task to create `T`s.
    pub struct Game<T>(pub std::marker::PhantomData<fn() -> T>);

    impl<T: Managed> App for Game<T> {
        fn register(&self, types: &mut Types) {
            types.object::<T>();
        }
    }

    pub fn game<T>() -> Game<T> {
        Game(std::marker::PhantomData)
    }

    #[task(name = "quest.add_score")]
    pub fn add_score(ctx: &mut Context, name: String, points: u32) -> TaskResult {
        let score = ctx.create(one::Score { points })?;
        ctx.bind(&name, score)?;
        Ok(())
    }

    #[task(name = "quest.add_score")]
    pub fn add_score_two(ctx: &mut Context, name: String, points: u32) -> TaskResult {
        let score = ctx.create(two::Score {
            points: u64::from(points),
        })?;
        ctx.bind(&name, score)?;
        Ok(())
    }

    pub struct One;

    impl App for One {
        fn register(&self, types: &mut Types) {
            types.object::<one::Score>().task::<AddScore>();
        }
    }

    pub struct Two;

    impl App for Two {
        fn register(&self, types: &mut Types) {
            types.object::<two::Score>().task::<AddScoreTwo>();
        }
    }
}

/// The scores bound to `names`, read as version 3: `(points, bonus)` each.
fn points(server: &Server, names: &[&str]) -> Vec<(u64, u32)> {
    server
        .query(|ctx| {
            names
                .iter()
                .map(|name| {
                    let p = ctx.get(ctx.lookup::<scores::three::Points>(name)?)?;
                    Ok((p.points(), p.bonus()))
                })
                .collect()
        })
        .unwrap()
}

#[test]
fn migrations_chain_over_several_versions_and_a_rename() {
    let cfg = |dir: &Path| Config {
        cores: 1,
        ..config(dir)
    };
    // Version 1 straight to version 3: both conversions, and the new name.
    let dir = tempfile::tempdir().unwrap();
    let server = Server::builder(scores::One)
        .config(cfg(dir.path()))
        .start()
        .unwrap();
    server
        .submit(scores::AddScore {
            name: "ann".into(),
            points: 4,
        })
        .wait()
        .unwrap();
    server.shutdown().unwrap();
    let server = Server::builder(scores::game::<scores::three::Points>())
        .config(cfg(dir.path()))
        .start()
        .unwrap();
    assert_eq!(points(&server, &["ann"]), [(40, 1)]);
    server.shutdown().unwrap();
    assert_eq!(tags(dir.path()).get("quest.Points@3"), Some(&1));

    // Version 1, then 2 (which adds a score of its own), then 3.
    let dir = tempfile::tempdir().unwrap();
    let server = Server::builder(scores::One)
        .config(cfg(dir.path()))
        .start()
        .unwrap();
    server
        .submit(scores::AddScore {
            name: "ann".into(),
            points: 4,
        })
        .wait()
        .unwrap();
    server.shutdown().unwrap();
    let server = Server::builder(scores::Two)
        .config(cfg(dir.path()))
        .start()
        .unwrap();
    server
        .submit(scores::AddScoreTwo {
            name: "bob".into(),
            points: 7,
        })
        .wait()
        .unwrap();
    server.shutdown().unwrap();
    let server = Server::builder(scores::game::<scores::three::Points>())
        .config(cfg(dir.path()))
        .start()
        .unwrap();
    assert_eq!(points(&server, &["ann", "bob"]), [(40, 1), (7, 1)]);
    server.shutdown().unwrap();
    let counts = tags(dir.path());
    assert_eq!(counts.get("quest.Points@3"), Some(&2), "{counts:?}");
    assert!(
        !counts.keys().any(|t| t.starts_with("quest.Score")),
        "{counts:?}"
    );
}

/// A periodic task at version 2: each run stores the next under version 2's tag.
mod ticking {
    use super::*;

    #[managed(name = "quest.Clock")]
    pub struct Clock {
        pub ticks: u64,
    }

    #[task(name = "quest.tick", version = 1)]
    pub struct TickV1 {
        pub clock: Ref<Clock>,
    }

    #[task(name = "quest.tick", version = 2, from = TickV1)]
    pub fn tick(ctx: &mut Context, clock: Ref<Clock>, by: u64) -> TaskResult {
        ctx.get_mut(clock)?.ticks += by;
        Ok(())
    }

    impl From<TickV1> for Tick {
        fn from(old: TickV1) -> Tick {
            Tick {
                clock: old.clock,
                by: 1,
            }
        }
    }

    pub struct Game;

    impl App for Game {
        fn register(&self, types: &mut Types) {
            types.object::<Clock>().task::<Tick>();
        }

        fn initialize(&self, ctx: &mut Context<'_>) -> TaskResult {
            let clock = ctx.create(Clock { ticks: 0 })?;
            ctx.bind("clock", clock)?;
            ctx.schedule_periodic(
                Tick { clock, by: 1 },
                Duration::ZERO,
                Duration::from_millis(5),
            )?;
            Ok(())
        }
    }

    /// Waits until the clock has ticked more than `past` times.
    pub fn wait_past(server: &Server, past: u64) -> u64 {
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let ticks = server
                .query(|ctx| Ok(ctx.get(ctx.lookup::<Clock>("clock")?)?.ticks()))
                .unwrap();
            if ticks > past {
                return ticks;
            }
            assert!(Instant::now() < deadline, "the clock stopped at {ticks}");
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

#[test]
fn a_periodic_task_at_version_2_keeps_running_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::builder(ticking::Game)
        .config(config(dir.path()))
        .start()
        .unwrap();
    let ticks = ticking::wait_past(&server, 3);
    server.shutdown().unwrap();
    assert_eq!(tags(dir.path()).get("task quest.tick@2"), Some(&1));
    let server = Server::builder(ticking::Game)
        .config(config(dir.path()))
        .start()
        .unwrap();
    ticking::wait_past(&server, ticks + 3);
    server.shutdown().unwrap();
}
